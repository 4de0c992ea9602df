"""Demo dossiers covering every status, dated relative to today so the demo never goes stale."""

from __future__ import annotations

import datetime as dt
from typing import List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Dossier
from bot.dossiers.service import DossierRecord, upsert_dossier

# (code suffix, procedure code, procedure name, phone, status, received days ago, appointment in days, extra)
_DEMO = [
    ("000.00.15.H65-240312-0001", "1.001193", "Đăng ký khai sinh", "0912345678", "in_progress", -1, 1, {}),
    ("000.00.15.H65-240312-0002", "2.000815", "Chứng thực bản sao từ bản chính", "0987001122",
     "received", 0, 2, {}),
    ("000.00.15.H65-240312-0003", "1.004222", "Đăng ký thường trú", "0977334455", "need_documents", -5, 2,
     {"missing_documents": ["Giấy tờ chứng minh chỗ ở hợp pháp (hợp đồng thuê nhà có công chứng)"]}),
    ("000.00.15.H65-240312-0004", "1.013978", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
     "0966778899", "waiting_fee", -12, 8, {"fee_due_vnd": 100000}),
    ("000.00.15.H65-240312-0005", "1.000894", "Đăng ký kết hôn", "0355123987", "ready", -3, 0,
     {"pickup_place": "Bộ phận Một cửa UBND phường Yên Bái"}),
    ("000.00.15.H65-240312-0006", "1.000656", "Đăng ký khai tử", "0399887766", "returned", -9, -6, {}),
    ("000.00.15.H65-240312-0007", "1.013225", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "0944556677", "refused",
     -20, -5, {"note": "Vị trí xây dựng nằm trong hành lang an toàn giao thông, không phù hợp quy hoạch"}),
    ("000.00.15.H65-240312-0008", "1.001612", "Đăng ký thành lập hộ kinh doanh", "0911223344", "in_progress", -10,
     -2, {"new_appointment_date": 3}),
]


def demo_dossiers(today: dt.date) -> List[DossierRecord]:
    """The demo set for ``today`` (the first one is the one in README and the tests)."""
    out = []
    for code, proc_code, name, phone, status, received, due, extra in _DEMO:
        record = DossierRecord(
            code=code, procedure_code=proc_code, procedure_name=name, status=status, applicant_phone=phone,
            applicant_name="Công dân thử nghiệm", agency_name="Trung tâm Phục vụ hành chính công",
            pickup_place=extra.get("pickup_place", "Bộ phận Một cửa Trung tâm Phục vụ hành chính công"),
            received_at=dt.datetime.combine(today + dt.timedelta(days=received), dt.time(8, 30)),
            appointment_date=today + dt.timedelta(days=due),
            missing_documents=extra.get("missing_documents", []), fee_due_vnd=extra.get("fee_due_vnd"),
            note=extra.get("note"),
        )
        if "new_appointment_date" in extra:
            record.new_appointment_date = today + dt.timedelta(days=extra["new_appointment_date"])
        if status in {"returned"}:
            record.completed_at = dt.datetime.combine(today + dt.timedelta(days=due), dt.time(15, 0))
        out.append(record)
    return out


def seed_demo_dossiers(session: Session, today: dt.date) -> int:
    """Insert the demo dossiers whose codes are absent; an existing record is never touched.

    Returns:
        How many demo dossiers were inserted.
    """
    records = demo_dossiers(today)
    present = set(session.execute(select(Dossier.code).where(Dossier.code.in_([r.code for r in records])))
                  .scalars())
    added = 0
    for record in records:
        if record.code not in present:
            upsert_dossier(session, record)
            added += 1
    return added
