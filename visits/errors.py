"""Error pages in Vietnamese that say what happened and lead somewhere."""
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


def register_error_pages(app: Flask) -> None:
    def page(title, message, status):
        if request.path.startswith("/api/"):
            return jsonify(error=message, status=status), status
        return render_template("errors/error.html", title=title, message=message), status

    app.register_error_handler(404, lambda e: page(
        _("Không tìm thấy"), _("Trang này không có, hoặc nằm ngoài khu phố của bạn."), 404))
    app.register_error_handler(CSRFError, lambda e: page(
        _("Phiên làm việc đã hết hạn"),
        _("Biểu mẫu đã cũ hoặc thiếu mã bảo mật, nên chưa có gì được lưu. Hãy tải lại trang và thử lại."), 400))
    app.register_error_handler(429, lambda e: page(
        _("Quá nhiều yêu cầu"), str(e.description) if e.description else
        _("Vui lòng chờ vài phút rồi thử lại."), 429))
    app.register_error_handler(409, lambda e: page(
        _("Trùng mã"), _("Mã của thay đổi này đã được dùng cho một bản ghi khác; chưa lưu gì."), 409))
    app.register_error_handler(413, lambda e: page(
        _("Dữ liệu quá lớn"), _("Dữ liệu gửi lên quá lớn nên đã bị từ chối; chưa lưu gì."), 413))
    app.register_error_handler(400, lambda e: page(
        _("Yêu cầu không hợp lệ"), _("Yêu cầu không hợp lệ nên chưa lưu gì."), 400))
    app.register_error_handler(405, lambda e: page(
        _("Không được phép"), _("Trang này không nhận cách gửi này."), 405))
    app.register_error_handler(500, lambda e: page(
        _("Có lỗi xảy ra"), _("Máy chủ gặp lỗi nên chưa lưu được. Hãy thử lại sau ít phút."), 500))
