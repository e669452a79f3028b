"""Frequency tables of Vietnamese family, middle and given names for synthetic people.

All text is NFC with the traditional tone placement (Hòa, Thủy) that the register's canonical form uses.
"""

from __future__ import annotations


def _weighted(text: str) -> tuple[tuple[str, float], ...]:
    """`name weight` entries separated by commas (a name may have two syllables: "Thị Thu 3")."""
    entries = (entry.split() for entry in text.split(","))
    return tuple((" ".join(words), float(weight)) for *words, weight in entries)


def _middles(text: str, *, no_middle: float) -> tuple[tuple[tuple[str, ...], float], ...]:
    """Middle names with their weights as `_weighted` reads them, a name as its syllables; `no_middle`
    is the weight of no middle name (the empty tuple, last)."""
    return (*((tuple(name.split()), weight) for name, weight in _weighted(text)), ((), no_middle))


def _names(text: str) -> tuple[str, ...]:
    """Names separated by commas."""
    return tuple(" ".join(name.split()) for name in text.split(","))


# Family names and their approximate share (%) of the population; the top ten reach about 90%.
FAMILY_NAMES = _weighted(
    "Nguyễn 38.4, Trần 12.1, Lê 9.5, Phạm 7, Phan 4.5, Huỳnh 4.1, Võ 4, Hoàng 3.6, Đặng 3.2, Bùi 3.1, Đỗ 1.4, "
    "Hồ 1.3, Ngô 1.3, Vũ 1.2, Dương 1, Lý 0.5, Đinh 0.45, Đoàn 0.4, Trương 0.4, Lâm 0.35, Mai 0.3, Trịnh 0.3, "
    "Đào 0.3, Cao 0.25, Lương 0.2, Hà 0.2, Tạ 0.15, Lưu 0.15, Tô 0.12, Châu 0.12, Quách 0.1, Thái 0.1, "
    "Vương 0.08, Triệu 0.08, Kiều 0.06, Hứa 0.06, La 0.05, Tăng 0.05, Từ 0.05, Chu 0.05, Nông 0.04, "
    "Khổng 0.03, Mạc 0.03, Văn 0.03, Giang 0.03, Lại 0.03, Thân 0.02, Tôn 0.02, Phùng 0.02, Âu 0.02"
)

# Middle names with weights, by sex and generation: Văn and Thị dominate among people born before about
# 1990 and fade after; two words are a two-syllable middle ("Thị Thu").
MIDDLE_MALE_OLDER = _middles(
    "Văn 52, Đức 5, Minh 5, Hữu 5, Quang 4, Thanh 4, Công 3, Ngọc 3, Xuân 2.5, Đình 2.5, Quốc 2, Trọng 1.5, "
    "Bá 1.5, Thế 1.5, Tấn 1.5, Hoàng 1, Kim 0.5, Trung 1, Tiến 0.5, Phước 1, Văn Minh 0.5, Hữu Quang 0.3, "
    "Đức Minh 0.3",
    no_middle=1.5,
)
MIDDLE_MALE_YOUNGER = _middles(
    "Văn 16, Minh 11, Đức 7, Quốc 6, Gia 6, Hoàng 5, Thanh 4, Tuấn 4, Anh 4, Duy 4, Hữu 3.5, Quang 3.5, "
    "Ngọc 3, Nhật 3, Thành 2.5, Trung 2, Công 2, Bảo 2, Phúc 1.5, Khánh 1.5, Hoàng Gia 1.5, Minh Đức 1, "
    "Quốc Anh 0.8, Nguyễn Minh 0.7, Đăng 1, Tấn 1",
    no_middle=1.0,
)
MIDDLE_FEMALE_OLDER = _middles(
    "Thị 62, Ngọc 5, Thanh 3, Thu 3, Kim 2.5, Minh 1.5, Hồng 1.5, Bích 1.5, Mỹ 1.5, Xuân 1, Thị Thu 3, "
    "Thị Ngọc 2.5, Thị Kim 2.5, Thị Thanh 2, Thị Mỹ 1.5, Thị Bích 1.5, Thị Hồng 1.5, Thị Minh 1, Thị Thúy 1, "
    "Thị Tuyết 0.8",
    no_middle=1.2,
)
MIDDLE_FEMALE_YOUNGER = _middles(
    "Thị 22, Ngọc 9, Thu 6, Thanh 5, Minh 5, Khánh 4, Bảo 4, Gia 3, Phương 3, Hồng 2.5, Mỹ 3, Kim 2.5, "
    "Hoài 2, Quỳnh 2, Yến 1.5, Thị Thu 2.5, Thị Ngọc 2, Thị Kim 1.5, Thị Thanh 1.5, Ngọc Bảo 1.5, Thị Mỹ 1, "
    "Thị Hồng 1, Ngọc Minh 0.8, Hoàng 1.5, Diệu 1, Thảo 1",
    no_middle=1.0,
)

# Given names in rough order of frequency; weights follow a Zipf-like curve over the rank.
GIVEN_MALE = _names(
    "Anh, Tuấn, Hùng, Dũng, Minh, Nam, Hải, Long, Sơn, Thắng, Hoàng, Huy, Phúc, Khoa, Bảo, Duy, Đạt, Hiếu, "
    "Trung, Quân, Cường, Thành, Tài, Tâm, Tú, Vinh, Việt, Bình, Khánh, Lâm, Lộc, Phong, Quang, Tiến, Toàn, "
    "Trí, Vũ, Hòa, Hưng, Kiên, Nhân, Nghĩa, Phát, Quý, Tân, Thái, Thiện, Thịnh, Thông, Tùng, Đức, Định, Đông, "
    "Hậu, Hiển, Hoan, Hội, Khải, Khang, Khôi, Lợi, Luân, Mạnh, Nguyên, Nhật, Phương, Quốc, Sang, Sỹ, Tín, "
    "Tình, Trọng, Trường, Tuân, Tường, Vĩnh, Vương, Xuân, An, Ân, Bách, Châu, Chí, Công, Danh, Điền, Đăng, "
    "Giang, Hào, Hiệp, Hợp, Huân, Kha, Khiêm, Kỳ, Lực, Mẫn, Ngọc, Nhựt, Phú, Phụng, Quyết, Sinh, Thạch, "
    "Thanh, Thuận, Tiền, Toản, Triều, Trực, Tuyên, Uy, Vỹ, Thủy, Cảnh, Chiến, Cương, Dương, Đại, Đoàn, Gia, "
    "Hạnh, Hiền, Hoài, Khương, Lành, Lập, Linh, Luật, Nhàn, Phi, Quyền, Sáng, Tạo, Thọ, Thuyết, Tịnh, Trãi, "
    "Trình, Vĩ, Khoái, Tuyển, Thụy"
)
GIVEN_FEMALE = _names(
    "Anh, Hương, Linh, Trang, Lan, Hà, Thảo, Ngọc, Huyền, Mai, Hoa, Hằng, Phương, Nga, Thủy, Thúy, Dung, "
    "Hạnh, Hiền, Hồng, Loan, Nhung, Oanh, Quyên, Tâm, Thu, Trinh, Tuyết, Vân, Yến, Nhi, Vy, Thùy, Châu, "
    "Giang, Hân, Hậu, Hòa, Khánh, Kiều, Liên, Liễu, Ly, Mỹ, My, Nguyệt, Nhàn, Như, Phượng, Quỳnh, Tiên, Thắm, "
    "Thanh, Thơ, Thư, Thương, Trâm, Trân, Uyên, Vi, Xuân, Ánh, Bích, Cúc, Diễm, Diệp, Đào, Gấm, Hải, Hảo, "
    "Huệ, Hường, Kim, Lệ, Lụa, Mơ, Ngân, Nhã, Nhạn, Nhiên, Phúc, Quế, Sương, Thoa, Thục, Tươi, Vui, Yên, Chi, "
    "Duyên, Hạ, Hiên, Huyên, Khuê, Lam, Lài, Lê, Lựu, Minh, Na, Nương, Phấn, Quyến, Sen, Tho, Thy, Trà, Tú, "
    "Út, Xoan, An, Bảo, Băng, Cẩm, Dạ, Dịu, Đông, Hoài, Hồng Nhung, Ký, Lành, Mận, Mẫn, Nhài, Nhị, Ninh, Phi, "
    "Sa, Tài, Thêu, Thịnh, Thuận, Tố, Trúc, Vàng, Viên, Yến Nhi, Khoa, Ngà, Thoại"
)
