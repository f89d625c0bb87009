"""How to write valid values of the string formats tenantry's OpenAPI document uses.

Loaded by schemathesis as its hooks module (see schemathesis.toml). Each format is a
rule the server checks and a schema cannot say; these strategies write values that
follow the rule, so `positive_data_acceptance` can hold the server to accepting them.
"""

import schemathesis
from hypothesis import strategies as st

WORD = r"[A-Za-zА-Яа-я0-9][A-Za-zА-Яа-я0-9.,&' -]{0,30}[A-Za-zА-Яа-я0-9.]"

# Russian mobile numbers are valid for their country whatever their digits; written
# the ways operators type them, with and without an extension.
phone = st.from_regex(
    r"(\+7|8) ?9[0-9]{2} ?[0-9]{3}-?[0-9]{2}-?[0-9]{2}( (доб\.|ext\.) [1-9][0-9]{0,3})?",
    fullmatch=True,
)
email = st.from_regex(
    r"[a-z][a-z0-9]{0,10}([._-][a-z0-9]{1,6})?@[a-z][a-z0-9]{0,10}\.(ru|com|org|example)",
    fullmatch=True,
)
# Tests talk only to loopback: clusters and webhook receivers are addresses on this
# machine where nothing listens (the discard port), so a call fails at once and no name
# is ever looked up.
http_url = st.from_regex(
    r"https?://(127\.0\.0\.1|localhost|\[::1\]):9(/[a-z0-9-]{1,8}){0,3}/?",
    fullmatch=True,
)
nonblank = st.from_regex(WORD, fullmatch=True) | st.from_regex(r"[A-Za-z0-9]", fullmatch=True)
text = st.just("") | nonblank
user_name = st.from_regex(r"[a-z][a-z0-9._-]{2,20}", fullmatch=True)
# Long, varied, nobody's common password; no letters, so no user name (which starts
# with one) is in it.
password = st.from_regex(r"[0-9#%+=!]{12,20}", fullmatch=True).filter(
    lambda p: len(set(p)) >= 5
)

schemathesis.openapi.format("phone", phone)
schemathesis.openapi.format("email", email)
schemathesis.openapi.format("http-url", http_url)
schemathesis.openapi.format("pem", st.just(""))
schemathesis.openapi.format("nonblank-text", nonblank)
schemathesis.openapi.format("text", text)
schemathesis.openapi.format("user-name", user_name)
schemathesis.openapi.format("password", password)
