"""The sandbox shop's fixed tables: catalogue, people, reasons, statuses, review texts.

Plain data, no logic. The raw status and raw reason tables are the sandbox's
"marketplace vocabulary" and their mapping onto the canonical enums, kept in
one place as every adapter keeps its own.
"""

from __future__ import annotations

from typing import NamedTuple

from aftersales.models import ReturnReason, ReturnStatus, Sentiment


class Product(NamedTuple):
    """One SKU of the sandbox catalogue; ``sizes`` gives exchangeable siblings."""

    sku: str
    title: str
    category: str
    price: str  # CNY, as the marketplace prints it
    sizes: tuple[str, ...] = ()


CATALOGUE: tuple[Product, ...] = (
    Product("TEE-COT", "纯棉短袖T恤 Cotton T-shirt", "apparel", "79.00", ("S", "M", "L", "XL")),
    Product("HOOD-FLC", "加绒连帽卫衣 Fleece hoodie", "apparel", "189.00", ("M", "L", "XL")),
    Product("JEAN-SLM", "修身牛仔裤 Slim jeans", "apparel", "239.90", ("28", "30", "32", "34")),
    Product("SHOE-RUN", "轻量跑步鞋 Running shoes", "shoes", "399.00", ("39", "40", "41", "42")),
    Product("EAR-BT5", "蓝牙耳机 Bluetooth earbuds", "electronics", "299.00"),
    Product("CHG-65W", "65W 快充充电器 65W charger", "electronics", "129.00"),
    Product("PWR-10K", "10000mAh 充电宝 Power bank", "electronics", "99.90"),
    Product("MUG-CER", "陶瓷马克杯 Ceramic mug", "home", "39.90"),
    Product("PIL-MEM", "记忆棉枕头 Memory-foam pillow", "home", "159.00"),
    Product("TEA-LJ", "明前龙井茶 250g Longjing tea", "food", "268.00"),
    Product("CRM-HYD", "保湿面霜 Hydrating cream", "beauty", "219.00"),
    Product("LIP-RED", "哑光口红 Matte lipstick", "beauty", "149.00"),
)

SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙")
GIVEN_NAMES = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "婷", "晨")
FIRST_NAMES = ("Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Ivy")
LAST_NAMES = ("Smith", "Brown", "Wilson", "Taylor", "Clark", "Lee", "Walker", "Young")

#: (time zone, locale, weight): most buyers are in mainland China.
ZONES: tuple[tuple[str, str, int], ...] = (
    ("Asia/Shanghai", "zh-CN", 70),
    ("Asia/Hong_Kong", "zh-HK", 6),
    ("Asia/Taipei", "zh-TW", 4),
    ("Asia/Singapore", "en-SG", 5),
    ("Europe/London", "en-GB", 5),
    ("America/Los_Angeles", "en-US", 6),
    ("Australia/Sydney", "en-AU", 4),
)

CN_CITIES = ("上海市浦东新区", "北京市朝阳区", "广东省深圳市南山区", "浙江省杭州市西湖区",
             "四川省成都市武侯区", "湖北省武汉市洪山区", "江苏省南京市鼓楼区")
EN_CITIES = ("London", "Los Angeles", "Singapore", "Sydney", "Hong Kong", "Taipei")
WAREHOUSE = "浙江省杭州市余杭区 sandbox 仓"
HUBS = ("杭州转运中心", "上海转运中心", "广州转运中心", "北京转运中心", "成都转运中心",
        "武汉转运中心")

#: the sandbox marketplace's raw return statuses and their canonical meaning.
RAW_RETURN_STATUSES: dict[str, ReturnStatus] = {
    "WAIT_SELLER_AGREE": ReturnStatus.REQUESTED,
    "BUYER_MODIFIED": ReturnStatus.REQUESTED,
    "SELLER_AGREED_REFUND": ReturnStatus.APPROVED,
    "WAIT_BUYER_RETURN_GOODS": ReturnStatus.APPROVED,
    "SELLER_REFUSE_BUYER": ReturnStatus.REJECTED,
    "WAIT_SELLER_CONFIRM_GOODS": ReturnStatus.RETURN_SHIPPED,
    "SELLER_RECEIVED_GOODS": ReturnStatus.RECEIVED,
    "REFUND_SUCCESS": ReturnStatus.REFUNDED,
    "EXCHANGE_SELLER_SENT": ReturnStatus.EXCHANGE_SHIPPED,
    "CLOSED_FINISHED": ReturnStatus.CLOSED,
    "BUYER_CANCELLED": ReturnStatus.CANCELLED,
}

#: how the sandbox's console shows each raw status (for people reading demos).
RAW_RETURN_STATUS_LABELS: dict[str, str] = {
    "WAIT_SELLER_AGREE": "待商家处理",
    "BUYER_MODIFIED": "买家已修改申请，待商家处理",
    "SELLER_AGREED_REFUND": "商家已同意退款",
    "WAIT_BUYER_RETURN_GOODS": "待买家退货",
    "SELLER_REFUSE_BUYER": "商家已拒绝",
    "WAIT_SELLER_CONFIRM_GOODS": "买家已退货，待商家收货",
    "SELLER_RECEIVED_GOODS": "商家已收货",
    "REFUND_SUCCESS": "退款成功",
    "EXCHANGE_SELLER_SENT": "商家已发出换货",
    "CLOSED_FINISHED": "售后完成",
    "BUYER_CANCELLED": "买家已撤销申请",
}

#: raw reason texts buyers pick or type, Chinese and English, with their canonical reason.
RAW_RETURN_REASONS: dict[str, ReturnReason] = {
    "尺码不合适": ReturnReason.WRONG_SIZE,
    "Size too small": ReturnReason.WRONG_SIZE,
    "质量问题": ReturnReason.QUALITY_ISSUE,
    "Stopped working after two days": ReturnReason.QUALITY_ISSUE,
    "收到商品破损": ReturnReason.DAMAGED_IN_TRANSIT,
    "Box arrived crushed, item damaged": ReturnReason.DAMAGED_IN_TRANSIT,
    "与商品描述不符": ReturnReason.NOT_AS_DESCRIBED,
    "Colour is not as shown in the photos": ReturnReason.NOT_AS_DESCRIBED,
    "卖家发错货": ReturnReason.WRONG_ITEM,
    "Received a different item": ReturnReason.WRONG_ITEM,
    "少件/漏发": ReturnReason.MISSING_ITEM,
    "One item missing from the parcel": ReturnReason.MISSING_ITEM,
    "七天无理由退换货": ReturnReason.NO_REASON,
    "7-day no-reason return": ReturnReason.NO_REASON,
    "不想要了": ReturnReason.CHANGED_MIND,
    "Changed my mind": ReturnReason.CHANGED_MIND,
    "发货太慢": ReturnReason.LATE_DELIVERY,
    "Arrived too late for the event": ReturnReason.LATE_DELIVERY,
    "其他": ReturnReason.OTHER,
    "Other": ReturnReason.OTHER,
}

BUYER_NOTES = ("麻烦尽快处理，谢谢", "Please process quickly, thanks", "已上传照片", "", "")

#: (sentiment, topic, Chinese text, English text).
REVIEW_TEXTS: tuple[tuple[Sentiment, str, str, str], ...] = (
    (Sentiment.POSITIVE, "quality", "质量很好，做工精细，推荐购买", "Great quality, well made"),
    (Sentiment.POSITIVE, "delivery", "物流很快，第二天就到了", "Fast delivery, arrived next day"),
    (Sentiment.POSITIVE, "service", "客服态度好，耐心解答", "Helpful and patient customer service"),
    (Sentiment.POSITIVE, "quality", "质量不差，性价比高", "Not bad at all for the price"),
    (Sentiment.POSITIVE, "size", "尺码标准，穿着合身", "True to size, fits perfectly"),
    (Sentiment.NEUTRAL, "quality", "一般般，还行吧", "It's okay, nothing special"),
    (Sentiment.NEUTRAL, "size", "尺码偏大一点，其他还好", "Runs a bit large, otherwise fine"),
    (Sentiment.NEUTRAL, "delivery", "东西不错，就是物流有点慢", "Good item but shipping was slow"),
    (Sentiment.NEUTRAL, "quality", "不算差，也谈不上好", "Not bad, not great"),
    (Sentiment.NEGATIVE, "damage", "收到时包装破损，商品有划痕", "Package damaged, item scratched"),
    (Sentiment.NEGATIVE, "counterfeit", "怀疑是假货，和专柜的不一样",
     "Looks like a fake, not genuine"),
    (Sentiment.NEGATIVE, "wrong_item", "发错货了，颜色不对", "Wrong item sent, wrong colour"),
    (Sentiment.NEGATIVE, "size", "尺码严重偏小，穿不上", "Way too small, cannot wear it"),
    (Sentiment.NEGATIVE, "delivery", "物流太慢，等了一个星期", "Delivery took over a week"),
    (Sentiment.NEGATIVE, "service", "客服不回复，态度差", "Customer service never replied"),
    (Sentiment.NEGATIVE, "refund", "退款拖了很久，很麻烦", "Refund took forever, what a hassle"),
    (Sentiment.NEGATIVE, "quality", "用了两天就坏了，质量太差",
     "Broke after two days, poor quality"),
)

#: 追评 (appended reviews), Chinese and English.
APPENDED_TEXTS = (
    ("用了一段时间，依然很好", "Still works well after a few weeks"),
    ("洗了一次就起球了", "Pilled after one wash"),
    ("客服后来主动联系解决了问题", "Support reached out and fixed it"),
    ("回购了，家人也喜欢", "Bought again, my family likes it too"),
)

#: reviews whose rating was edited upwards after the shop helped the buyer.
EDIT_SUFFIX = ("（已与商家沟通解决）", " (Resolved with the seller)")
