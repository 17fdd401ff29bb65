"""``redact`` and ``clip``: no piece of a credential (8 characters of it in a row) survives,
and a cut never ends in the opening of one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from runbind._core.credentials import GRAM, Secret, clip, redact, safe_headers

KEY = "sk-CANARYq7Zx2Lp9Rt4Vm6Nb8Hc3Jd5Kf1Gs0Ya8Ueo"
SECRET = Secret(KEY)
GRAMS = {KEY[i : i + GRAM] for i in range(len(KEY) - GRAM + 1)}
text = st.text(st.sampled_from("ab é\n*"), max_size=60)


def pieces(shown: str) -> set[str]:
    return {gram for gram in GRAMS if gram in shown}


@given(text, st.integers(0, len(KEY)), st.integers(0, len(KEY)), text)
def test_no_piece_of_the_key_survives_redaction(
    before: str, start: int, stop: int, after: str
) -> None:
    shown = redact(before + KEY[start:stop] + after, SECRET)
    assert not pieces(shown)
    if stop - start < GRAM:
        assert shown == before + KEY[start:stop] + after  # a short stretch is left alone


@given(text, text, st.integers(0, 150))
def test_a_clip_holds_no_piece_and_ends_in_no_opening_of_the_key(
    before: str, after: str, limit: int
) -> None:
    shown = clip(before + KEY + after, limit, SECRET)
    assert len(shown) <= max(limit, 3)
    assert not pieces(shown)
    assert not any(shown.rstrip("…").endswith(KEY[:n]) for n in range(4, len(KEY) + 1))


def test_redaction_marks_each_stretch_once_and_keeps_the_rest() -> None:
    assert redact(f"a {KEY} b {KEY[5:20]} c {KEY[:7]}", SECRET) == f"a *** b *** c {KEY[:7]}"
    assert redact("nothing here", SECRET, None) == "nothing here"
    assert redact("short 1234", Secret("1234")) == "short ***"  # a short credential, whole
    assert clip("abcdef", 4) == "abc…"
    assert clip(f"see {KEY[:6]}", 100, SECRET) == "see ***"  # a cut key at the very end


@given(text, text)
def test_safe_headers_mask_credential_headers_and_redact_the_rest(before: str, after: str) -> None:
    shown = safe_headers(
        [
            ("Set-Cookie", "session=abc"),
            ("Authorization", f"Bearer {KEY}"),
            ("X-Echo", before + KEY + after),
            ("X-Echo", "second"),
            ("grpc-status-details-bin", b"\x00\x01"),
            ("X-Request-Id", "req-1"),
        ],
        SECRET,
    )
    assert shown["set-cookie"] == shown["authorization"] == "***"
    assert not pieces(shown["x-echo"])
    assert shown["x-echo"].endswith(", second")
    assert shown["x-request-id"] == "req-1"
    assert "grpc-status-details-bin" not in shown


def test_safe_headers_keep_a_bounded_amount() -> None:
    many = [(f"x-{i}", "v" * 5000) for i in range(500)] + [("x-0", "again")] * 1000
    shown = safe_headers(many)
    assert len(shown) == 100
    assert all(len(value) <= 1000 for value in shown.values())
