"""The agent sign-off regexes on hand-made replies (no real data needed), in DuckDB and in Python `re`.

The regexes live in test_signoff_real.py (read from there, whatever pytest's import mode); test_signoff_real.py
says what they accept and why.
"""

from __future__ import annotations

import re

import pytest

from tests.unit.test_signoff_real import SIGNOFF_REGEX, SIGNOFF_REGEX_BY_ACCOUNT

AIRASIA_REGEX: str = SIGNOFF_REGEX_BY_ACCOUNT["AirAsiaSupport"]

EN_DASH, EM_DASH = "\u2013", "\u2014"
MOJIBAKE_EN_DASH = "\u00e2\u20ac\u201c"  # UTF-8 en dash read as cp1252
MOJIBAKE_WINK = "\u00f0\u0178\u02dc\u2030"  # UTF-8 U+1F609 read as cp1252
SMILE = "\U0001f60a"

# (reply, sign-off by the default regex)
DEFAULT_CASES = [
    # slash, caret, tilde, star
    ("@1 Let us know how it goes /JK", "JK"),
    ("@1 We'll take a look backstage /CH https://t.co/AbCd123xyz", "CH"),
    ("@1 More here: https://t.co/AbCd123xyz /MX", "MX"),
    ("@1 We've sent you a DM /K", "K"),
    ("@1 Pls call us at 1-800-555-0100 ^J", "J"),
    ("@1 Happy to help :) ^PQ", "PQ"),
    ("@1 Glad we could help ~Jess", "Jess"),
    ("@1 Noted, thanks! *SR", "SR"),
    # dashes
    ("@1 Enjoy your day! -Anna", "Anna"),
    ("@1 Enjoy your day! - Anwar", "Anwar"),
    ("@1 Enjoy your day! -BK.", "BK"),
    ("@1 Kindly DM us.Thanks-Emir", "Emir"),
    ("@1 Kindly DM us. Thank you- Mariya 2/2", "Mariya"),
    ("@1 Noted -MC (2/2)", "MC"),
    (f"@1 Kindly DM us. Thanks {EN_DASH} Nod", "Nod"),
    (f"@1 Kindly DM us. Thanks {EM_DASH}Nod", "Nod"),
    (f"@1 Kindly DM us. Thanks {MOJIBAKE_EN_DASH} Nod", "Nod"),
    (f"@1 So cute {SMILE}-Sabi", "Sabi"),
    (f"@1 So cute {MOJIBAKE_WINK} -Sabi", "Sabi"),
    ("@1 See you! - See you! - Anwar", "Anwar"),
    ("@1 Glad to help!\r\n-Anna\r\n", "Anna"),
    ("-Anna", "Anna"),
    # no sign-off
    ("@1 Are you connected to Wi-Fi", ""),
    ("@1 Are you connected to Wi-Fi.", ""),
    ("@1 Turn off Auto-Brightness.", ""),
    ("@1 Your flight KUL-SIN", ""),
    ("@1 Call us (8a-5p PT, M-F)", ""),
    ("@1 Call us 9am-5pm Mon-Fri", ""),
    ("@1 Read this: https://t.co/AbCd123xyz", ""),
    ("@1 Call 1-800-555-0100", ""),
    ("@1 Did you mean Twitter/Facebook", ""),
    ("@1 Send it w/JK", ""),
    ("@1 Is the Ring / Silent switch on", ""),
    ("@1 Is the switch on / OFF", ""),
    ("@1 Love it :-D", ""),
    ("@1 Love it ;-P", ""),
    ("@1 Love it =-O", ""),
    ("@1 Love it ^_^", ""),
    ("@1 We know one thing that's even better\u2013YOU!", ""),
    (f"@1 We know one thing that's even better {MOJIBAKE_EN_DASH} YOU!", ""),
    ("@1 Cheers from the crew - the team", ""),
    ("@1 Enjoy your day -anna", ""),
    ("@1 Plan -ABCD", ""),
    ("@1 Enjoy! -Anna but that is not the end", ""),
    ("@1 Settings &gt; General &gt; About", ""),
    ("@1 We'll pass your feedback on to the team and...", ""),
    ("@1 Refunds are processed in 7 days &gt;&gt;", ""),
    ("@1 Go team #MC", ""),
    ("@1 Check it out =) Yana", ""),  # AirAsiaSupport only
    ("@1 Thank you and have a great day-Mariya", ""),  # idem
    ("", ""),
]

# (reply, sign-off by the AirAsiaSupport override): everything the default finds, plus these
AIRASIA_CASES = [
    ("@1 Check it out =) Yana", "Yana"),
    ("@1 Check it out :) Anwar", "Anwar"),
    ("@1 Thank you and have a great day-Mariya", "Mariya"),
    ("@1 Sorry for the delayed respond-Mi", "Mi"),
    ("@1 Noted.TQ-Emir", "Emir"),
    ("@1 Noted. Thanks - Khairul", "Khairul"),
    (f"@1 Noted. Thanks {MOJIBAKE_EN_DASH} Nod", "Nod"),
    ("@1 Noted.Thanks-M 2/2", "M"),
    # no sign-off
    ("@1 Your flight KUL-SIN", ""),
    ("@1 Are you connected to Wi-Fi.", ""),
    ("@1 Did you mean Twitter/Facebook", ""),
    ("@1 Thank you for waiting =)", ""),
    ("@1 Check it out =) yana", ""),
    ("@1 Refunds are processed in 7 days &gt;&gt;", ""),
    # why the override is not the default: any lowercase word may precede the dash
    ("@1 Turn off Auto-Brightness.", "Brightness"),
]


def duckdb_extract(con, pattern: str, text: str) -> str:
    return con.execute("select regexp_extract(?, ?, 1)", [text, pattern]).fetchone()[0]


def python_extract(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return (match.group(1) or "") if match else ""


@pytest.mark.parametrize(("text", "expected"), DEFAULT_CASES)
def test_default_regex(con, text, expected):
    assert duckdb_extract(con, SIGNOFF_REGEX, text) == expected
    assert python_extract(SIGNOFF_REGEX, text) == expected


@pytest.mark.parametrize(("text", "expected"), AIRASIA_CASES)
def test_airasia_override(con, text, expected):
    assert duckdb_extract(con, AIRASIA_REGEX, text) == expected
    assert python_extract(AIRASIA_REGEX, text) == expected


@pytest.mark.parametrize(("text", "expected"), [case for case in DEFAULT_CASES if case[1]])
def test_airasia_override_keeps_what_the_default_finds(con, text, expected):
    assert duckdb_extract(con, AIRASIA_REGEX, text) == expected


def test_regexes_have_exactly_one_group():
    assert re.compile(SIGNOFF_REGEX).groups == 1
    assert re.compile(AIRASIA_REGEX).groups == 1
