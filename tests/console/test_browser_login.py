"""In Chromium: a staff member logs in, sees only their role's areas, and logs out."""

from __future__ import annotations

from tests.support.console import browser_login, screenshot


def test_editor_logs_in_sees_their_areas_and_logs_out(page, console_url: str):
    browser_login(page, console_url, "editor1")
    nav = page.get_by_role("navigation", name="Chức năng")
    assert nav.get_by_role("link", name="Thủ tục").is_visible()
    assert nav.get_by_role("link", name="Câu trả lời").is_visible()
    assert nav.get_by_role("link", name="Tài khoản").count() == 0  # admin only
    screenshot(page, "01-login-home")
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{console_url}/console/login")
    page.goto(f"{console_url}/console/")
    assert "/console/login" in page.url


def test_wrong_password_is_said_plainly(page, console_url: str):
    page.goto(f"{console_url}/console/login")
    page.get_by_label("Tên đăng nhập").fill("agent1")
    page.get_by_label("Mật khẩu").fill("khong-dung")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.get_by_role("alert").inner_text() == "Sai tên đăng nhập hoặc mật khẩu."


def test_admin_creates_an_agent_account(page, console_url: str):
    browser_login(page, console_url, "admin1")
    page.get_by_role("navigation", name="Chức năng").get_by_role("link", name="Tài khoản").click()
    form = page.locator("form.grid")
    form.get_by_label("Tên đăng nhập").fill("tiepnhan2")
    form.get_by_label("Họ tên").fill("Nguyễn Thị Lan")
    form.get_by_label("Vai trò").select_option("agent")
    form.get_by_label("Mật khẩu").fill("mat-khau-moi-123")
    form.get_by_role("button", name="Tạo").click()
    assert page.get_by_role("cell", name="Nguyễn Thị Lan").is_visible()
    page.get_by_role("link", name="Nhật ký").click()
    assert page.get_by_role("cell", name="staff_user tiepnhan2").is_visible()
