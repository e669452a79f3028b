"""The house and the street or hamlet of an address: a hamlet named by a number keeps its number as its name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.domain import addresses
from vaxlink.domain.addresses import AddressKey, address_key


@pytest.mark.parametrize(
    ("text", "house", "street"),
    [
        ("Số 12, Đường Lê Lợi, Phường Phước Trung", "12", "le loi"),
        ("12 Lê Lợi, Phước Trung, Bà Rịa", "12", "le loi"),
        ("Tổ 5, Ấp Bắc, Xã Hòa Long", "5", "bac"),
        # A numbered hamlet: the group is the house, the hamlet's number its name.
        ("Tổ 8, Ấp 5, Xã Đá Bạc, Huyện Châu Đức", "8", "5"),
        ("Ap 5, To 8, Xa Da Bac", "8", "5"),
        ("Tổ 3, khu phố 2", "3", "2"),
        ("Tổ 13, Thôn 6, Xã Bàu Lâm", "13", "6"),
        ("Ấp số 4, Tổ 2", "2", "4"),
        # A hamlet alone: its number is no house number, and the commune after it is not its name.
        ("Thôn 6, Bàu Lâm, Xuyên Mộc", "", "6"),
        # A street's number is not kept: health often leaves out "Đường" ("12 30/4").
        ("12 Đường 30/4", "12", ""),
        ("Số 36, Đường 27 Tháng 4, Phường 10", "36", "thang"),
    ],
)
def test_address_key(text: str, house: str, street: str) -> None:
    assert address_key(text) == AddressKey(house, street)


def test_same_numbered_hamlet_written_two_ways() -> None:
    assert address_key("Tổ 8, Ấp 5, Xã Đá Bạc") == address_key("Ấp 5, Tổ 8, X. Đá Bạc")
    assert address_key("Tổ 8, Ấp 5") != address_key("Tổ 8, Ấp 4")


_VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ ,./0123456789"


@given(st.text(alphabet=_VIETNAMESE, max_size=40) | st.text(max_size=20))
def test_fold_by_letter_is_the_whole_fold(text: str) -> None:
    """The letter-by-letter fold gives what decomposing, stripping marks and composing give, on addresses'
    letters and on any text at all (which takes the whole way when it is not Latin)."""
    assert addresses._fold(text) == addresses._fold_exact(text)


def test_fold_by_letter_covers_each_code_point() -> None:
    for cp in [*range(0x0000, 0x3000), *range(0x1E00, 0x1F00), 0xFB01, 0xFF21]:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        for t in (chr(cp), f"a{chr(cp)}\u0301", f"Lê {chr(cp)}ợi"):
            assert addresses._fold(t) == addresses._fold_exact(t), hex(cp)
