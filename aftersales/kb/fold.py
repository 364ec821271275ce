"""Folding traditional Chinese characters to simplified ones (pure; no I/O).

Buyers from Taiwan, Hong Kong and overseas write 退貨, 沒收到 or 發票; the
knowledge base is mostly written in simplified characters. Search folds both
the entries and the query, so 請問退貨 meets 请问退货.

The table is the common traditional characters of shopping and after-sales
talk (goods, money, parcels, faults, invoices, contact), one to one, each a
character simplified text does not use itself; characters whose folding
depends on the word (乾/干, 著/着, 藉/借) are left as written. It is not a
full converter (no word-level rules, no regional vocabulary such as 網購 or
宅配), which search does not need: a character the table misses still
counts through the other characters of the word.
"""

from __future__ import annotations

__all__ = ["fold_traditional"]

_TRADITIONAL = (
    "貨運費郵遞達還錢帳賬單號碼訂購買賣價優發髮換擇選顏質壞損錯誤"
    "個們這麼麽嗎請問謝親說話聯繫係關門開稅頭維護證據應該會時間長"
    "為沒簽寫讀鐘點幾週禮態員務東樣實際圖與偽產廠過燙煙電險傷兒膚"
    "紅癢氣邊線縫針織褲襪裝寬緊鬆條紋變黃舊髒機鍵聲響螢顯無啟啓動"
    "設備書軟體網絡連從給讓將對確認訊簡戶資刪隱騷擾營銷廣閱誰負擔"
    "責賠償補額餘預雙轉積贈滿減領經濟級專業處進審駁絕類別區縣鄉鎮"
    "國內島灣臺樓層驛櫃順豐韻圓極遲趕馬現後陸續剛纔辦導媽錶鐵鋼銀"
    "鍋壺蓋紙貼標籤貴幣塊萬億兩張隻熱溫濕燈風飛車輛輪場廳衛潔淨麵"
    "飯餅飲約覺聽見視觀讚評論訴舉報識記錄憑尋丟遺搶攔驗檢測試語學"
    "習練並裡裏頁題復複歸環節慶華緣勞煩囉於寶貝嬰衝擊壓規則項範圍"
    "滅災燒爐淚惡罵嚇憤謊騙詐賺虧賴悶鬧閃彈屆準檔筆鏡鑰蘋漢熒鈕鑽"
    "鏈絲綢緞繩紗繡釦"
)
_SIMPLIFIED = (
    "货运费邮递达还钱账账单号码订购买卖价优发发换择选颜质坏损错误"
    "个们这么么吗请问谢亲说话联系系关门开税头维护证据应该会时间长"
    "为没签写读钟点几周礼态员务东样实际图与伪产厂过烫烟电险伤儿肤"
    "红痒气边线缝针织裤袜装宽紧松条纹变黄旧脏机键声响萤显无启启动"
    "设备书软体网络连从给让将对确认讯简户资删隐骚扰营销广阅谁负担"
    "责赔偿补额余预双转积赠满减领经济级专业处进审驳绝类别区县乡镇"
    "国内岛湾台楼层驿柜顺丰韵圆极迟赶马现后陆续刚才办导妈表铁钢银"
    "锅壶盖纸贴标签贵币块万亿两张只热温湿灯风飞车辆轮场厅卫洁净面"
    "饭饼饮约觉听见视观赞评论诉举报识记录凭寻丢遗抢拦验检测试语学"
    "习练并里里页题复复归环节庆华缘劳烦啰于宝贝婴冲击压规则项范围"
    "灭灾烧炉泪恶骂吓愤谎骗诈赚亏赖闷闹闪弹届准档笔镜钥苹汉荧钮钻"
    "链丝绸缎绳纱绣扣"
)
# 帳 folds to 账 (an account: 到帳, 帳戶), the sense buyers mean here.
_TABLE = str.maketrans(_TRADITIONAL, _SIMPLIFIED)


def fold_traditional(text: str) -> str:
    """``text`` with the traditional characters of the table written in simplified form."""
    return text.translate(_TABLE)
