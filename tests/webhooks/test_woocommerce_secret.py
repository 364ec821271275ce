"""WooCommerce signs with its webhook secret after WordPress decodes HTML entities in it.

``WC_Webhook::generate_signature`` keys the HMAC with
``wp_specialchars_decode($secret, ENT_QUOTES)`` (wp-includes/formatting.php):
the named entities ``&lt; &gt; &amp; &quot;``, their decimal forms with any
leading zeros (``&#60; &#062; &#0038; &#34; &#39;``) and the hex forms
``&#x26; &#x22; &#x27;`` (either ``x``), in one pass; other spellings stay
as written. A secret decoded otherwise never verifies a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from aftersales_woocommerce.webhooks import verify_webhook

BODY = b'{"id":727}'


def _sign(key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), BODY, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize(("stored", "wordpress_key"), [
    ("a&amp;b", "a&b"),
    ("a&lt;b&gt;c&quot;d&#039;e&#39;", "a<b>c\"d'e'"),
    ("a&#38;b&#038;c&#0038;d&#x26;e&#X26;f&#x026;", "a&b&c&d&e&f&"),
    ("q&#34;r&#034;s&#x22;t&#0039;u&#x27;v&#X027;", 'q"r"s"t\'u\'v\''),
    ("l&#60;m&#060;n&#62;o&#062;", "l<m<n>o>"),
    ("&amp;lt;&amp;#38;", "&lt;&#38;"),          # one pass: what &amp; makes stays
    ("&LT;&Amp;&#x3C;&#1234;&apos;&nbsp;", "&LT;&Amp;&#x3C;&#1234;&apos;&nbsp;"),
])
def test_the_secret_is_decoded_as_wordpress_decodes_it(stored: str, wordpress_key: str) -> None:
    assert verify_webhook(BODY, _sign(wordpress_key), stored)
    if stored != wordpress_key:
        assert not verify_webhook(BODY, _sign(stored), stored)
