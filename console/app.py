"""The console application: pages under ``/console``, the JSON API under ``/console/api``.

``create_app()`` builds it without touching the database (nothing happens at import time);
``python -m console`` serves it with uvicorn. Errors never reach the browser as a traceback:
a missing session sends a browser to the login page (API: 401), a wrong role or CSRF token
is a 403 page, an unreachable database a 503 page.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from console.deps import CsrfFailed, Forbidden, NotLoggedIn
from console.routes import ROUTERS
from console.templating import render

logger = logging.getLogger(__name__)

API_PREFIX = "/console/api"
STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def create_app() -> FastAPI:
    """The console app with every router, the static files and the error pages."""
    app = FastAPI(title="Trợ lý hành chính công — bảng điều khiển cán bộ", version="1",
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None)
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/console/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _exc: NotLoggedIn) -> Response:
        if _is_api(request) or request.method != "GET":
            return JSONResponse({"detail": "Chưa đăng nhập"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return _error(request, 403, "Vai trò của bạn không được phép làm việc này.")

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _exc: CsrfFailed) -> Response:
        return _error(request, 403, "Phiên làm việc không hợp lệ (CSRF). Hãy tải lại trang rồi thử lại.")

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, _exc: OperationalError) -> Response:
        logger.error("database unreachable while serving %s", request.url.path)
        return _error(request, 503, "Cơ sở dữ liệu tạm thời không truy cập được. Vui lòng thử lại sau ít phút.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Yêu cầu không hợp lệ."
        if exc.status_code == 404 and message == "Not Found":
            message = "Không tìm thấy trang này."
        return _error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in error.get("loc", ())[1:]) or "body" for error in exc.errors()})
        return _error(request, 422, "Dữ liệu không hợp lệ: " + ", ".join(fields))

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, _exc: OverflowError) -> Response:
        return _error(request, 422, "Dữ liệu không hợp lệ: số quá lớn.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("console error on %s %s", request.method, request.url.path)
        return _error(request, 500, "Đã có lỗi. Thao tác chưa được lưu; vui lòng thử lại.")

    return app
