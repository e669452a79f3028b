"""Frequency tables for synthetic Vietnamese people: names, age pyramid, streets, phones, vaccines, sites.
Text is NFC with the traditional tone placement (Hòa, Thủy) that the register's canonical form uses."""

from __future__ import annotations

# Family names and their approximate share (%) of the population; the top ten reach about 90%.
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Phan", 4.5),
    ("Huỳnh", 4.1), ("Võ", 4.0), ("Hoàng", 3.6), ("Đặng", 3.2), ("Bùi", 3.1),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Vũ", 1.2), ("Dương", 1.0),
    ("Lý", 0.5), ("Đinh", 0.45), ("Đoàn", 0.4), ("Trương", 0.4), ("Lâm", 0.35),
    ("Mai", 0.3), ("Trịnh", 0.3), ("Đào", 0.3), ("Cao", 0.25), ("Lương", 0.2),
    ("Hà", 0.2), ("Tạ", 0.15), ("Lưu", 0.15), ("Tô", 0.12), ("Châu", 0.12),
    ("Quách", 0.1), ("Thái", 0.1), ("Vương", 0.08), ("Triệu", 0.08), ("Kiều", 0.06),
    ("Hứa", 0.06), ("La", 0.05), ("Tăng", 0.05), ("Từ", 0.05), ("Chu", 0.05),
    ("Nông", 0.04), ("Khổng", 0.03), ("Mạc", 0.03), ("Văn", 0.03), ("Giang", 0.03),
    ("Lại", 0.03), ("Thân", 0.02), ("Tôn", 0.02), ("Phùng", 0.02), ("Âu", 0.02),
)

# Middle names with weights, by sex and generation: Văn and Thị dominate among people born before about
# 1990 and fade after; tuples of two are two-syllable middles ("Thị Thu"). An empty tuple is no middle.
MIDDLE_MALE_OLDER: tuple[tuple[tuple[str, ...], float], ...] = (
    (("Văn",), 52.0), (("Đức",), 5.0), (("Minh",), 5.0), (("Hữu",), 5.0), (("Quang",), 4.0),
    (("Thanh",), 4.0), (("Công",), 3.0), (("Ngọc",), 3.0), (("Xuân",), 2.5), (("Đình",), 2.5),
    (("Quốc",), 2.0), (("Trọng",), 1.5), (("Bá",), 1.5), (("Thế",), 1.5), (("Tấn",), 1.5),
    (("Hoàng",), 1.0), (("Kim",), 0.5), (("Trung",), 1.0), (("Tiến",), 0.5), (("Phước",), 1.0),
    (("Văn", "Minh"), 0.5), (("Hữu", "Quang"), 0.3), (("Đức", "Minh"), 0.3), ((), 1.5),
)
MIDDLE_MALE_YOUNGER: tuple[tuple[tuple[str, ...], float], ...] = (
    (("Văn",), 16.0), (("Minh",), 11.0), (("Đức",), 7.0), (("Quốc",), 6.0), (("Gia",), 6.0),
    (("Hoàng",), 5.0), (("Thanh",), 4.0), (("Tuấn",), 4.0), (("Anh",), 4.0), (("Duy",), 4.0),
    (("Hữu",), 3.5), (("Quang",), 3.5), (("Ngọc",), 3.0), (("Nhật",), 3.0), (("Thành",), 2.5),
    (("Trung",), 2.0), (("Công",), 2.0), (("Bảo",), 2.0), (("Phúc",), 1.5), (("Khánh",), 1.5),
    (("Hoàng", "Gia"), 1.5), (("Minh", "Đức"), 1.0), (("Quốc", "Anh"), 0.8), (("Nguyễn", "Minh"), 0.7),
    (("Đăng",), 1.0), (("Tấn",), 1.0), ((), 1.0),
)
MIDDLE_FEMALE_OLDER: tuple[tuple[tuple[str, ...], float], ...] = (
    (("Thị",), 62.0), (("Ngọc",), 5.0), (("Thanh",), 3.0), (("Thu",), 3.0), (("Kim",), 2.5),
    (("Minh",), 1.5), (("Hồng",), 1.5), (("Bích",), 1.5), (("Mỹ",), 1.5), (("Xuân",), 1.0),
    (("Thị", "Thu"), 3.0), (("Thị", "Ngọc"), 2.5), (("Thị", "Kim"), 2.5), (("Thị", "Thanh"), 2.0),
    (("Thị", "Mỹ"), 1.5), (("Thị", "Bích"), 1.5), (("Thị", "Hồng"), 1.5), (("Thị", "Minh"), 1.0),
    (("Thị", "Thúy"), 1.0), (("Thị", "Tuyết"), 0.8), ((), 1.2),
)
MIDDLE_FEMALE_YOUNGER: tuple[tuple[tuple[str, ...], float], ...] = (
    (("Thị",), 22.0), (("Ngọc",), 9.0), (("Thu",), 6.0), (("Thanh",), 5.0), (("Minh",), 5.0),
    (("Khánh",), 4.0), (("Bảo",), 4.0), (("Gia",), 3.0), (("Phương",), 3.0), (("Hồng",), 2.5),
    (("Mỹ",), 3.0), (("Kim",), 2.5), (("Hoài",), 2.0), (("Quỳnh",), 2.0), (("Yến",), 1.5),
    (("Thị", "Thu"), 2.5), (("Thị", "Ngọc"), 2.0), (("Thị", "Kim"), 1.5), (("Thị", "Thanh"), 1.5),
    (("Ngọc", "Bảo"), 1.5), (("Thị", "Mỹ"), 1.0), (("Thị", "Hồng"), 1.0), (("Ngọc", "Minh"), 0.8),
    (("Hoàng",), 1.5), (("Diệu",), 1.0), (("Thảo",), 1.0), ((), 1.0),
)

# Given names in rough order of frequency; weights follow a Zipf-like curve over the rank.
GIVEN_MALE: tuple[str, ...] = (
    "Anh", "Tuấn", "Hùng", "Dũng", "Minh", "Nam", "Hải", "Long", "Sơn", "Thắng",
    "Hoàng", "Huy", "Phúc", "Khoa", "Bảo", "Duy", "Đạt", "Hiếu", "Trung", "Quân",
    "Cường", "Thành", "Tài", "Tâm", "Tú", "Vinh", "Việt", "Bình", "Khánh", "Lâm",
    "Lộc", "Phong", "Quang", "Tiến", "Toàn", "Trí", "Vũ", "Hòa", "Hưng", "Kiên",
    "Nhân", "Nghĩa", "Phát", "Quý", "Tân", "Thái", "Thiện", "Thịnh", "Thông", "Tùng",
    "Đức", "Định", "Đông", "Hậu", "Hiển", "Hoan", "Hội", "Khải", "Khang", "Khôi",
    "Lợi", "Luân", "Mạnh", "Nguyên", "Nhật", "Phương", "Quốc", "Sang", "Sỹ", "Tín",
    "Tình", "Trọng", "Trường", "Tuân", "Tường", "Vĩnh", "Vương", "Xuân", "An", "Ân",
    "Bách", "Châu", "Chí", "Công", "Danh", "Điền", "Đăng", "Giang", "Hào", "Hiệp",
    "Hợp", "Huân", "Kha", "Khiêm", "Kỳ", "Lực", "Mẫn", "Ngọc", "Nhựt", "Phú",
    "Phụng", "Quyết", "Sinh", "Thạch", "Thanh", "Thuận", "Tiền", "Toản", "Triều", "Trực",
    "Tuyên", "Uy", "Vỹ", "Thủy", "Cảnh", "Chiến", "Cương", "Dương", "Đại", "Đoàn",
    "Gia", "Hạnh", "Hiền", "Hoài", "Khương", "Lành", "Lập", "Linh", "Luật", "Nhàn",
    "Phi", "Quyền", "Sáng", "Tạo", "Thọ", "Thuyết", "Tịnh", "Trãi", "Trình", "Vĩ",
    "Khoái", "Tuyển", "Thụy",
)
GIVEN_FEMALE: tuple[str, ...] = (
    "Anh", "Hương", "Linh", "Trang", "Lan", "Hà", "Thảo", "Ngọc", "Huyền", "Mai",
    "Hoa", "Hằng", "Phương", "Nga", "Thủy", "Thúy", "Dung", "Hạnh", "Hiền", "Hồng",
    "Loan", "Nhung", "Oanh", "Quyên", "Tâm", "Thu", "Trinh", "Tuyết", "Vân", "Yến",
    "Nhi", "Vy", "Thùy", "Châu", "Giang", "Hân", "Hậu", "Hòa", "Khánh", "Kiều",
    "Liên", "Liễu", "Ly", "Mỹ", "My", "Nguyệt", "Nhàn", "Như", "Phượng", "Quỳnh",
    "Tiên", "Thắm", "Thanh", "Thơ", "Thư", "Thương", "Trâm", "Trân", "Uyên", "Vi",
    "Xuân", "Ánh", "Bích", "Cúc", "Diễm", "Diệp", "Đào", "Gấm", "Hải", "Hảo",
    "Huệ", "Hường", "Kim", "Lệ", "Lụa", "Mơ", "Ngân", "Nhã", "Nhạn", "Nhiên",
    "Phúc", "Quế", "Sương", "Thoa", "Thục", "Tươi", "Vui", "Yên", "Chi", "Duyên",
    "Hạ", "Hiên", "Huyên", "Khuê", "Lam", "Lài", "Lê", "Lựu", "Minh", "Na",
    "Nương", "Phấn", "Quyến", "Sen", "Tho", "Thy", "Trà", "Tú", "Út", "Xoan",
    "An", "Bảo", "Băng", "Cẩm", "Dạ", "Dịu", "Đông", "Hoài", "Hồng Nhung", "Ký",
    "Lành", "Mận", "Mẫn", "Nhài", "Nhị", "Ninh", "Phi", "Sa", "Tài", "Thêu",
    "Thịnh", "Thuận", "Tố", "Trúc", "Vàng", "Viên", "Yến Nhi", "Khoa", "Ngà", "Thoại",
)

# Five-year birth cohorts (first year of the cohort, share of the 2021 population, %), from the 2019
# census carried forward two years; the oldest cohort runs 1930–1936 and thins out with age.
AGE_PYRAMID: tuple[tuple[int, int, float], ...] = (
    (1930, 1936, 1.0), (1937, 1941, 0.9), (1942, 1946, 1.3), (1947, 1951, 2.0), (1952, 1956, 3.2),
    (1957, 1961, 4.3), (1962, 1966, 5.2), (1967, 1971, 5.9), (1972, 1976, 6.6), (1977, 1981, 7.2),
    (1982, 1986, 7.9), (1987, 1991, 8.2), (1992, 1996, 7.9), (1997, 2001, 6.9), (2002, 2006, 7.0),
    (2007, 2011, 7.9), (2012, 2016, 8.9), (2017, 2021, 8.4),
)
# Share of men per cohort start year: boys outnumber girls at birth, women outlive men.
MALE_SHARE_BY_COHORT: dict[int, float] = {
    1930: 0.36, 1937: 0.39, 1942: 0.42, 1947: 0.44, 1952: 0.46, 1957: 0.47, 1962: 0.48,
    1967: 0.49, 1972: 0.50, 1977: 0.50, 1982: 0.50, 1987: 0.505, 1992: 0.505, 1997: 0.51,
    2002: 0.515, 2007: 0.52, 2012: 0.525, 2017: 0.53,
}

STREETS: tuple[str, ...] = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Lý Thường Kiệt", "Hai Bà Trưng", "Quang Trung",
    "Nguyễn Huệ", "Lê Lai", "Hùng Vương", "Phan Chu Trinh", "Phan Bội Châu", "Nguyễn Thái Học",
    "Trần Phú", "Võ Thị Sáu", "Cách Mạng Tháng Tám", "30 Tháng 4", "27 Tháng 4", "Nguyễn Văn Cừ",
    "Lê Quý Đôn", "Trương Công Định", "Bà Triệu", "Ba Cu", "Lê Hồng Phong", "Nguyễn An Ninh",
    "Hoàng Hoa Thám", "Thùy Vân", "Nguyễn Hữu Cảnh", "Trần Quang Khải", "Phạm Văn Đồng",
    "Võ Văn Kiệt", "Nguyễn Thị Minh Khai", "Điện Biên Phủ", "Lê Duẩn", "Tôn Đức Thắng",
    "Nguyễn Du", "Phạm Ngọc Thạch", "Ngô Quyền", "Lạc Long Quân", "Âu Cơ", "Đô Lương",
    "Bình Giã", "Nguyễn Tất Thành", "Quốc lộ 51", "Quốc lộ 55", "Hương lộ 2", "Mạc Thanh Đạm",
    "Huỳnh Tịnh Của", "Nơ Trang Long", "Phan Đăng Lưu", "Lê Thánh Tông",
)
HAMLETS: tuple[str, ...] = (
    "Ấp Bắc", "Ấp Nam", "Ấp Đông", "Ấp Tây", "Ấp Trung", "Ấp 1", "Ấp 2", "Ấp 3", "Ấp 4", "Ấp 5",
    "Ấp Phước Lộc", "Ấp Tân Hiệp", "Ấp Long Bình", "Ấp Hòa Bình", "Ấp Tân Thành", "Ấp Bình Sơn",
    "Ấp Suối Nhum", "Ấp Láng Cát", "Ấp Bình Trung", "Ấp Tân Phú", "Thôn 1", "Thôn 2", "Thôn 3", "Thôn 4",
    "Thôn 5", "Thôn 6", "Thôn Quảng Phú", "Thôn Sông Cầu",
)

# Where people born outside the province come from (pre-2025 province code, relative weight): the
# neighbouring south-east and the north-central provinces that sent many workers to the industrial zones.
BIRTH_PROVINCES_ELSEWHERE: tuple[tuple[str, float], ...] = (
    ("79", 14.0), ("75", 10.0), ("38", 8.0), ("40", 8.0), ("42", 6.0), ("36", 5.0), ("34", 5.0),
    ("44", 4.0), ("45", 3.0), ("51", 4.0), ("52", 4.0), ("54", 2.0), ("60", 3.0), ("62", 2.0),
    ("66", 2.0), ("67", 1.0), ("70", 2.0), ("72", 2.0), ("74", 3.0), ("80", 2.0), ("83", 2.0),
    ("86", 2.0), ("89", 2.0), ("91", 2.0), ("94", 2.0), ("01", 3.0), ("31", 2.0), ("35", 2.0),
    ("37", 2.0), ("46", 3.0), ("48", 2.0), ("49", 2.0),
)
# Country codes (the 101–295 range of the personal-id prefix) for births registered abroad.
BIRTH_COUNTRY_CODES: tuple[str, ...] = ("116", "124", "201", "203", "231", "257")

# First two digits of old 9-digit CMND numbers by province of issue (the police numbered cards by
# province; Đồng Nai and Bà Rịa–Vũng Tàu shared 27); unlisted provinces get a stable made-up prefix.
CMND_PREFIXES: dict[str, str] = {
    "77": "27", "79": "02", "75": "27", "38": "17", "40": "18", "42": "18", "36": "16", "34": "15",
    "44": "19", "45": "19", "51": "21", "52": "21", "54": "22", "60": "26", "62": "23", "66": "24",
    "70": "28", "72": "29", "74": "28", "80": "30", "01": "01", "31": "03", "48": "20", "46": "19",
}

# Mobile number prefixes (Viettel, VinaPhone, MobiFone, Vietnamobile) with relative weights.
PHONE_PREFIXES: tuple[tuple[str, float], ...] = (
    ("098", 6.0), ("097", 6.0), ("096", 5.0), ("086", 3.0), ("032", 3.0), ("033", 3.0), ("034", 3.0),
    ("035", 3.0), ("036", 3.0), ("037", 3.0), ("038", 3.0), ("039", 3.0), ("091", 4.0), ("094", 4.0),
    ("088", 2.0), ("081", 1.5), ("082", 1.5), ("083", 1.5), ("084", 1.5), ("085", 1.5), ("090", 5.0),
    ("093", 4.0), ("089", 2.0), ("070", 2.0), ("076", 1.5), ("077", 1.5), ("078", 1.5), ("079", 1.5),
    ("092", 1.0), ("056", 0.5), ("058", 0.5), ("099", 0.3),
)

# The ways exports spell each product (product key → (label, weight)); every label must resolve through
# the vaccine alias table.
VACCINE_LABELS: dict[str, tuple[tuple[str, float], ...]] = {
    "AZ": (("AstraZeneca", 5.0), ("AZ", 3.0), ("Vaxzevria", 1.0), ("EU/1/21/1529", 1.0),
           ("COVID-19 Vaccine AstraZeneca", 1.0)),
    "PF": (("Pfizer", 4.0), ("Pfizer-BioNTech", 3.0), ("Comirnaty", 2.0), ("EU/1/20/1528", 1.0)),
    "MO": (("Moderna", 6.0), ("Spikevax", 1.5), ("EU/1/20/1507", 1.0)),
    "VC": (("Vero Cell", 6.0), ("Sinopharm (Vero Cell)", 2.0), ("Sinopharm", 1.5), ("BBIBP-CorV", 0.5)),
    "JA": (("Janssen", 4.0), ("J&J", 1.0), ("EU/1/20/1525", 1.0)),
    "SP": (("Sputnik V", 4.0), ("Gam-COVID-Vac", 1.0)),
    "AB": (("Abdala", 1.0),),
}
# Lot numbers look like each maker's own (a prefix and a serial, or a date-based code).
LOT_STYLES: dict[str, tuple[str, ...]] = {
    "AZ": ("ABV", "ABW", "NX", "MT", "PV"),
    "PF": ("FF", "FG", "FH", "FK", "FL"),
    "MO": ("0", "3"),
    "VC": ("2021", "2022"),
    "JA": ("XD", "XE"),
    "SP": ("I-", "II-"),
    "AB": ("A",),
}

# Hospitals that ran vaccination points in Bà Rịa–Vũng Tàu; other provinces get generic names.
PROVINCE_HOSPITALS: dict[str, tuple[str, ...]] = {
    "77": (
        "Bệnh viện Bà Rịa", "Bệnh viện Lê Lợi", "Bệnh viện Vũng Tàu", "Bệnh viện Tâm thần tỉnh",
        "Bệnh viện Mắt tỉnh Bà Rịa - Vũng Tàu", "Bệnh viện Quân y 96", "Bệnh viện Vạn Phúc",
        "Trung tâm Kiểm soát bệnh tật tỉnh Bà Rịa - Vũng Tàu",
    ),
}
# Industrial zones with their own vaccination points, by district code.
INDUSTRIAL_ZONES: dict[str, tuple[str, ...]] = {
    "754": ("KCN Phú Mỹ I", "KCN Phú Mỹ II", "KCN Phú Mỹ III", "KCN Mỹ Xuân A", "KCN Mỹ Xuân B1",
            "KCN Cái Mép"),
    "750": ("KCN Châu Đức",),
    "753": ("KCN Đất Đỏ I",),
    "747": ("KCN Đông Xuyên",),
    "748": ("KCN Long Hương",),
}
