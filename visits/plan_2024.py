"""The 2024 plan (Kế hoạch 62/KH-UBND, phường Hồng Gai) as data: nine targets and their checklist.

Later plans are rows in the database, made the same way; nothing here is read at request time.
"""
from datetime import date

from flask_babel import lazy_gettext as _l

PLAN = {
    "code": "KH62-2024",
    "name": "Kế hoạch 62/KH-UBND năm 2024 về hoạt động của Tổ công nghệ số cộng đồng",
    "year": 2024,
}

# number, short label, text, population, threshold, strive, deadline
TARGETS = [
    (1, "Người có điện thoại thông minh được hướng dẫn dịch vụ số",
     "100% người dân có điện thoại thông minh, khi có nhu cầu, được hướng dẫn cài đặt, sử dụng dịch vụ "
     "công trực tuyến toàn trình và một phần; biết và sử dụng Cổng/Trang thông tin điện tử; biết dịch vụ "
     "bưu chính công ích; được hướng dẫn cài đặt và khai thác các dịch vụ số thiết yếu (y tế, giáo dục, "
     "chính sách xã hội, VNeID, VssID…)",
     "Người dân có điện thoại thông minh", 1.0, False, None),
    (2, "Hộ gia đình, hộ SXKD được hướng dẫn thương mại điện tử",
     "100% hộ gia đình, hộ sản xuất kinh doanh được hướng dẫn cài đặt ứng dụng nền tảng số để bán hàng "
     "trên sàn thương mại điện tử; mở tài khoản thanh toán điện tử, có phát sinh giao dịch thương mại "
     "điện tử, trong đó có sàn TMĐT Quảng Ninh",
     "Hộ gia đình; hộ sản xuất kinh doanh", 1.0, False, None),
    (3, "Người dùng SIM 2G được vận động chuyển sang 4G",
     "Tuyên truyền, vận động 100% người dân đang sử dụng SIM 2G sang SIM 4G",
     "Người dân dùng SIM 2G hoặc máy chỉ hỗ trợ 2G khi gặp lần đầu trong năm", 1.0, False, None),
    (4, "Người chưa dùng điện thoại thông minh được vận động",
     "Tuyên truyền, vận động 100% người dân chưa sử dụng điện thoại thông minh sang sử dụng điện thoại "
     "thông minh",
     "Người trưởng thành chưa có điện thoại thông minh khi gặp lần đầu trong năm", 1.0, False, None),
    (5, "Người trưởng thành có tài khoản thanh toán điện tử",
     "Tối thiểu 90% người dân trưởng thành có tài khoản thanh toán điện tử",
     "Người trưởng thành", 0.9, False, None),
    (6, "Hộ có thành viên trẻ biết thanh toán điện tử",
     "Phấn đấu mỗi hộ gia đình có ít nhất 01 thành viên trẻ biết cài đặt và sử dụng ứng dụng thanh toán "
     "điện tử để hướng dẫn các thành viên còn lại",
     "Hộ gia đình", 1.0, True, None),
    (7, "Người dân nắm biết chủ trương về chuyển đổi số",
     "100% người dân được tuyên truyền, nắm biết chủ trương, chính sách, pháp luật về chuyển đổi số; "
     "được chia sẻ các câu chuyện chuyển đổi số trên trang Làng số",
     "Người dân", 1.0, False, None),
    (8, "Người trưởng thành có điện thoại và cài ứng dụng số",
     "100% người dân trưởng thành có điện thoại di động và cài đặt ứng dụng số",
     "Người trưởng thành", 1.0, False, None),
    (9, "Thành viên Tổ hoàn thành khóa học kỹ năng số",
     "100% thành viên Tổ công nghệ số cộng đồng hoàn thành các khóa học kỹ năng số trên nền tảng học "
     "trực tuyến mở đại trà (MOOC), trước ngày 30/6/2024",
     "Thành viên Tổ công nghệ số cộng đồng", 1.0, False, date(2024, 6, 30)),
]

# code, target number, applies to, eligibility, label, guide slug, hands-on steps
ITEMS = [
    ("vneid", 1, "resident", "smartphone", "Cài và kích hoạt VNeID mức 2", "vneid",
     ["Kiểm tra thẻ Căn cước gắn chip và SIM chính chủ.",
      "Tải ứng dụng VNeID (Bộ Công an) từ CH Play hoặc App Store.",
      "Kích hoạt bằng mã gửi qua SMS, đặt mật khẩu và passcode.",
      "Nhắc: không bao giờ đưa mã OTP hay passcode cho ai."]),
    ("dvc", 1, "resident", "smartphone", "Nộp hồ sơ dịch vụ công trực tuyến", "dich-vu-cong",
     ["Mở dichvucong.gov.vn hoặc ứng dụng, đăng nhập bằng VNeID.",
      "Tìm thủ tục, chọn cơ quan giải quyết.",
      "Điền tờ khai, chụp và đính kèm giấy tờ.",
      "Chọn nhận kết quả trực tuyến hoặc qua bưu điện, theo dõi hồ sơ."]),
    ("portal", 1, "resident", "smartphone", "Biết Cổng/Trang thông tin điện tử của phường", "cong-thong-tin",
     ["Mở trang thông tin điện tử của phường trên điện thoại.",
      "Vào chuyên mục Chuyển đổi số, xem thông báo và thủ tục.",
      "Lưu trang vào màn hình chính để lần sau mở nhanh."]),
    ("postal", 1, "resident", "smartphone", "Biết dịch vụ bưu chính công ích", "buu-chinh-cong-ich",
     ["Giải thích: gửi hồ sơ và nhận kết quả thủ tục qua bưu điện.",
      "Chỉ chỗ chọn \"nhận kết quả qua bưu điện\" khi nộp trực tuyến.",
      "Nhắc cách theo dõi bưu gửi."]),
    ("vssid", 1, "resident", "smartphone", "Cài và dùng VssID – Bảo hiểm xã hội số", "vssid",
     ["Tải ứng dụng \"VssID – Bảo hiểm xã hội số\".",
      "Đăng nhập, xem quá trình đóng BHXH.",
      "Mở thẻ BHYT điện tử để dùng khi khám bệnh."]),
    ("essential", 1, "resident", "smartphone", "Dùng dịch vụ số thiết yếu (y tế, giáo dục…)", "dich-vu-cong",
     ["Hỏi người dân cần gì: khám bệnh, học tập, chính sách xã hội.",
      "Cài ứng dụng chính thức phù hợp và đăng nhập cùng người dân.",
      "Làm thử một việc thật, ví dụ đặt lịch khám."]),
    ("ecommerce_guide", 2, "household", "household", "Hướng dẫn cài ứng dụng bán hàng trên sàn TMĐT",
     "thuong-mai-dien-tu",
     ["Giới thiệu các sàn: Sàn OCOP Quảng Ninh, Voso, Postmart, Shopee.",
      "Cài ứng dụng một sàn và tạo tài khoản cùng người dân.",
      "Chỉ cách tìm và mua thử một sản phẩm an toàn."]),
    ("business_epay", 2, "household", "business", "Hộ kinh doanh có tài khoản thanh toán điện tử",
     "thanh-toan-dien-tu",
     ["Mở tài khoản ngân hàng có ứng dụng hoặc ví điện tử cho hộ.",
      "Tạo mã QR nhận tiền, in và dán tại quầy."]),
    ("ecommerce_sale", 2, "household", "business", "Hộ kinh doanh đã có giao dịch TMĐT",
     "thuong-mai-dien-tu",
     ["Đăng ký tài khoản người bán, chụp ảnh và đăng sản phẩm đầu tiên.",
      "Kết nối đơn vị vận chuyển, xử lý đơn hàng đầu tiên."]),
    ("qn_ecommerce", 2, "household", "business", "Hộ kinh doanh bán trên sàn TMĐT Quảng Ninh",
     "thuong-mai-dien-tu",
     ["Giới thiệu Sàn TMĐT OCOP Quảng Ninh.",
      "Hướng dẫn đăng ký gian hàng và đăng sản phẩm."]),
    ("sim4g", 3, "resident", "2g", "Vận động chuyển SIM/máy 2G sang 4G", "chuyen-4g",
     ["Kiểm tra máy có hỗ trợ 4G không.",
      "Nhắc mang thẻ Căn cước đến cửa hàng nhà mạng để đổi SIM 4G.",
      "Máy chỉ có 2G đã bị ngừng từ 16/10/2024: gợi ý đổi máy 4G."]),
    ("smartphone", 4, "resident", "no_smartphone", "Vận động dùng điện thoại thông minh", "chuyen-4g",
     ["Hỏi lý do chưa dùng (giá, tuổi cao, khuyết tật…).",
      "Giới thiệu máy giá rẻ, gói ưu đãi của nhà mạng.",
      "Cho xem trên máy của người thân những việc làm được."]),
    ("epay", 5, "resident", "adult", "Mở tài khoản thanh toán điện tử", "thanh-toan-dien-tu",
     ["Chọn ngân hàng, ví điện tử hoặc Mobile Money.",
      "Tải ứng dụng chính thức, xác thực bằng thẻ Căn cước gắn chip và khuôn mặt.",
      "Đặt mã PIN, thử chuyển tiền bằng mã QR.",
      "Không bao giờ ghi lại số tài khoản hay mã PIN của người dân."]),
    ("epay_helper", 6, "resident", "young", "Thành viên trẻ biết hướng dẫn thanh toán điện tử",
     "thanh-toan-dien-tu",
     ["Cùng thành viên trẻ (16–30 tuổi) thanh toán thử một hóa đơn.",
      "Nhờ bạn ấy hướng dẫn lại cho người lớn trong nhà."]),
    ("dx_informed", 7, "resident", "all", "Được tuyên truyền chủ trương về chuyển đổi số", "cong-thong-tin",
     ["Giới thiệu ngắn chủ trương chuyển đổi số của phường.",
      "Mời tham gia nhóm Zalo khu phố."]),
    ("langso", 7, "resident", "all", "Được giới thiệu trang Làng số", "cong-thong-tin",
     ["Mở langso.dx.gov.vn, xem một câu chuyện chuyển đổi số.",
      "Mời người dân chia sẻ câu chuyện của mình."]),
]

FACT_LABELS = {
    "phone_kind": _l("Điện thoại"),
    "sim": _l("SIM"),
    "handset_2g_only": _l("Máy chỉ hỗ trợ 2G"),
    "has_epay": _l("Có tài khoản thanh toán điện tử"),
}
