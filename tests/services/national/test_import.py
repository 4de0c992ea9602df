"""Import of the national catalogue (``data/national/procedures.json.gz``) beside the curated file.

On SQLite and PostgreSQL: the whole snapshot (5,652 procedures, central level included), the
curated records winning field by field and verified, the same rows whatever the order of the
files, re-imports reporting only what changed, doubtful fees never stored as a number, and a
bad record importing nothing. Expected values are read from the national file itself.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.db.models import Procedure
from bot.db.session import session_scope
from tests.services.conftest import PROCEDURES_JSON, table_counts
from tests.services.national.conftest import (
    NATIONAL,
    SNAPSHOT,
    SOURCE,
    curated_doc,
    import_file,
    national_doc,
    national_record,
    proc,
    state,
)


def test_every_national_procedure_is_imported(full_url: str) -> None:
    national = {p["code"] for p in national_doc()["procedures"]}
    curated = {p["code"] for p in curated_doc()["procedures"]}
    with session_scope(full_url) as session:
        codes = set(session.execute(sa.select(Procedure.code)).scalars())
        origins = dict(session.execute(sa.select(Procedure.origin, sa.func.count()).group_by(Procedure.origin)).all())
        levels = dict(session.execute(sa.select(Procedure.level, sa.func.count()).group_by(Procedure.level)).all())
    assert len(national) == 5652
    assert codes == national | curated
    assert origins == {"curated": len(curated), "national": len(codes - curated)}
    assert levels["central"] > 1000 and levels["province"] > 1000 and levels["commune"] > 500
    counts = table_counts(full_url)
    assert counts["procedures"] == len(national | curated)
    assert counts["documents"] > 25000 and counts["channels"] > 15000


def test_central_procedures_name_their_agency(full_url: str) -> None:
    idp = proc(full_url, "3.000353")
    assert idp.name == "Cấp giấy phép lái xe quốc tế"
    assert (idp.level, idp.levels, idp.origin) == ("central", ["central"], "national")
    assert idp.agency == "Cục cảnh sát giao thông"
    assert {c.kind for c in idp.channels} == {"direct", "online"}
    assert idp.online_url and idp.online_url.endswith("ma_thu_tuc=3.000353")
    with session_scope(full_url) as session:
        passports = session.execute(sa.select(Procedure.code, Procedure.level).where(
            Procedure.name.like("%hộ chiếu%"))).all()
    assert ("1.001471", "central") in passports and len(passports) >= 10
    passport = proc(full_url, "1.001471")
    assert passport.agency == "Cục quản lý xuất nhập cảnh"
    # a kind with two durations (5 days, 3 days in the cases of the law): each keeps the case it is for
    direct = [c for c in passport.channels if c.kind == "direct"]
    assert [c.duration_days for c in direct] == [5, 3] and all(c.note for c in direct)
    assert "khoản 4 Điều 15" in direct[1].note
    assert all(c.fee_vnd == 200000 and c.fee_status == "conditional" for c in passport.channels)


def test_provenance_of_a_national_record(full_url: str) -> None:
    idp = proc(full_url, "3.000353")
    assert (idp.source, idp.checked_on) == (SOURCE, SNAPSHOT)
    assert idp.verified_by is None and idp.verified_at is None and idp.layers is None
    rec = national_record("3.000353")
    assert set(idp.flags) >= set(rec["flags"])
    # the machine-read figures nobody confirmed, in the answers' vocabulary
    assert {"fee", "duration", "documents", "steps", "agency", "legal_basis", "level", "online_level"} \
        <= set(idp.unconfirmed)
    assert idp.decision == rec["decision"]
    assert idp.legal_basis == ["Luật Hóa chất 06/2007/QH12"]
    # every record carries its provenance
    with session_scope(full_url) as session:
        rows = session.execute(sa.select(Procedure.source, Procedure.checked_on, Procedure.unconfirmed)
                               .where(Procedure.origin == "national")).all()
    assert {(s, c) for s, c, _ in rows} == {(SOURCE, SNAPSHOT)}
    assert all("online_level" in u for _, _, u in rows)


def test_doubtful_fee_is_not_a_number(full_url: str) -> None:
    idp = proc(full_url, "3.000353")  # "0 VNĐ" while the note gives 135.000 đ: doubtful
    for channel in idp.channels:
        assert channel.fee_vnd is None and channel.fee_doubtful and channel.fee_status == "doubtful"
        assert "0 VNĐ" not in channel.fee and "Chưa xác định" in channel.fee
    customs = proc(full_url, "1.000014")  # "20 VNĐ (20.000 vnđ/tờ khai)": thousands
    assert all(c.fee_vnd is None and c.fee_doubtful for c in customs.channels)
    assert not any("20 VNĐ" in c.fee for c in customs.channels)
    with session_scope(full_url) as session:
        doubtful_with_number = session.execute(sa.text(
            "SELECT count(*) FROM procedure_channels WHERE fee_doubtful AND fee_vnd IS NOT NULL")).scalar_one()
        statuses = dict(session.execute(sa.text(
            "SELECT fee_status, count(*) FROM procedure_channels c JOIN procedures p ON p.id = c.procedure_id "
            "WHERE p.origin = 'national' GROUP BY fee_status")).all())
        unclear_numbers = session.execute(sa.text(
            "SELECT count(*) FROM procedure_channels WHERE fee_vnd IS NOT NULL AND fee_status IN "
            "('see_note', 'text', 'zero_without_note', 'several', 'missing', 'doubtful')")).scalar_one()
    assert doubtful_with_number == 0 and unclear_numbers == 0
    assert statuses["doubtful"] > 300 and statuses["zero_without_note"] > 1000 and statuses["amount"] > 1000


def test_amounts_and_durations(full_url: str) -> None:
    inspection = proc(full_url, "1.000017")  # 50000 VNĐ, 1 WORKING_DAY, three modes
    assert [(c.kind, c.fee_vnd, c.fee_status, c.fee_doubtful) for c in inspection.channels] == [
        ("direct", 50000, "amount", False), ("online", 50000, "amount", False), ("post", 50000, "amount", False)]
    assert inspection.channels[0].fee.startswith("50.000 đồng")
    assert (inspection.channels[0].duration, inspection.channels[0].duration_days) == ("1 ngày làm việc", 1)
    other = proc(full_url, "1.000005")  # "1 OTHER": no unit, no number quoted
    assert all(c.duration_days is None and "1" not in c.duration for c in other.channels)
    with session_scope(full_url) as session:
        day_counts = session.execute(sa.text(
            "SELECT count(*) FROM procedure_channels c JOIN procedures p ON p.id = c.procedure_id "
            "WHERE p.origin = 'national' AND duration_days IS NOT NULL AND duration NOT LIKE '% ngày%'")).scalar_one()
    assert day_counts == 0  # a number of days only where the record gives days (working or calendar)


def test_curated_record_wins_field_by_field_and_is_verified(full_url: str) -> None:
    src = next(p for p in curated_doc()["procedures"] if p["code"] == "1.001193")
    birth = proc(full_url, "1.001193")
    assert (birth.origin, birth.name, birth.agency) == ("curated", src["name"], src["agency"])
    assert [c.fee for c in birth.channels] == [c["fee"] for c in src["channels"]]
    assert [d.name for d in birth.documents] == [d["name"] for d in src["documents"]]
    assert birth.source == src["source"] and birth.checked_on == dt.date.fromisoformat(curated_doc()["checked_on"])
    assert birth.verified_by == "Trung tâm Phục vụ hành chính công tỉnh"
    assert birth.verified_at == birth.checked_on
    # fields the curated record does not give keep the national values
    rec = national_record("1.001193")
    assert birth.decision == rec["decision"] == "163/QĐ-BTP"
    assert birth.levels == ["commune"]
    assert birth.unconfirmed == src["unconfirmed"]  # everything it gives was checked except these
    # a curated record without conditions gets the national ones, and they stay unconfirmed
    gap = proc(full_url, "1.010041")
    assert gap.conditions == national_record("1.010041")["conditions"] and gap.conditions
    assert "conditions" in gap.unconfirmed and gap.origin == "curated"
    assert gap.layers["national"]["values"]["conditions"] == gap.conditions
    assert gap.layers["curated"]["values"]["conditions"] is None


def test_order_does_not_matter(full_url: str, clean_url: str) -> None:
    first = import_file(clean_url, PROCEDURES_JSON)
    second = import_file(clean_url, NATIONAL)
    assert (first.created, second.created, second.unchanged) == (58, 5652 - 58, 0)
    assert second.updated == 58 and set(second.changed_fields) >= {"layers", "levels", "decision"}
    assert "name" not in second.changed_fields and "channels" not in second.changed_fields
    assert state(clean_url) == state(full_url)
    # and importing both again changes nothing
    again = import_file(clean_url, NATIONAL)
    assert (again.created, again.updated, again.unchanged, again.changed_fields) == (0, 0, 5652, {})
    assert import_file(clean_url, PROCEDURES_JSON).changed_fields == {}
    assert state(clean_url) == state(full_url)


# --- re-importing a newer snapshot -------------------------------------------------------------------


def test_the_search_from_the_table_knows_the_forces_own_procedures(full_url: str) -> None:
    """Built from the table (production) or from the files, the search marks the same records as an armed
    force's own (the field's mark, the place of submission naming the force's people)."""
    from bot.catalogue.search_records import records_from_files, records_from_session

    with session_scope(full_url) as session:
        from_table = {r.code: r.forces for r in records_from_session(session)}
    from_files = {r.code: r.forces for r in records_from_files(NATIONAL, PROCEDURES_JSON)}
    assert from_table == from_files
    assert from_table["1.001294"] == {"police"}     # the police's re-issue of its officers' relatives' cards
    assert from_table["1.013614"] == {"army"}       # "Khám bệnh, chữa bệnh BQP"
    assert not from_table["1.002759"] and not from_table["1.014061"]   # BHYT for everyone; the ID card
    assert 50 < sum(map(bool, from_table.values())) < 200
