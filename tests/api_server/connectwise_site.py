"""A small hand-written ConnectWise site: two companies with agreements, tickets, notes, time."""

from __future__ import annotations

from tests.api_server.connectwise import FakeConnectWise, info, iso

AGREEMENT_FIELDS = {"Time Zone": "America/New_York", "Country": "US", "Subdivision": "NY",
                    "Seats": 30, "After Hours Coverage": False, "Included Scope": None,
                    "Hourly Rate": 150}


def _custom(values: dict) -> list[dict]:
    return [{"id": i + 1, "caption": k, "type": "Text", "entryMethod": "EntryField",
             "numberOfDecimals": 0, "value": v} for i, (k, v) in enumerate(values.items())]


def site(name: str, company_id: str, public_key: str, private_key: str, client_id: str
         ) -> FakeConnectWise:
    cw = FakeConnectWise(name, company_id, public_key, private_key, client_id)
    for cid, ident, cname, plan, seats in [(250, "ACME", "Acme Dental", "Unlimited", 30),
                                           (251, "BETA", "Beta Logistics", "Essentials", 12)]:
        cw.companies[cid] = {"id": cid, "identifier": ident, "name": cname,
                             "status": {"id": 1, "name": "Active"},
                             "_info": info("2020-01-01T00:00:00Z")}
        cw.agreements[cid + 1000] = {
            "id": cid + 1000, "name": f"{cname} managed services",
            "type": {"id": 3, "name": plan}, "company": {"id": cid, "identifier": ident,
                                                         "name": cname},
            "startDate": "2026-01-01T00:00:00Z", "endDate": None, "noEndingDateFlag": True,
            "cancelledFlag": False,
            "customFields": _custom({**AGREEMENT_FIELDS, "Seats": seats}),
            "_info": info("2020-01-01T00:00:00Z")}
    return cw


def add_ticket(cw: FakeConnectWise, ticket_id: int, company: int, created: str, summary: str,
               priority: str = "Priority 3 - Normal Response", source: str = "Email",
               contact: str = "dana@acme.example", board_type: str = "Email",
               emergency: bool = False) -> dict:
    comp = cw.companies[company]
    ticket = {
        "id": ticket_id, "summary": summary, "recordType": "ServiceTicket",
        "board": {"id": 1, "name": "Service Desk"}, "status": {"id": 16, "name": "New"},
        "company": {"id": comp["id"], "identifier": comp["identifier"], "name": comp["name"]},
        "contactName": contact.split("@")[0], "contactEmailAddress": contact,
        "type": {"id": 7, "name": board_type}, "priority": {"id": 8, "name": priority},
        "source": {"id": 2, "name": source}, "severity": "Medium", "impact": "Medium",
        "closedFlag": False, "closedDate": None, "parentTicketId": None, "isInSla": None,
        "customFields": _custom({"Declared Emergency": emergency, "Affected Users": 1}),
        "_info": info(created, created),
    }
    cw.tickets[ticket_id] = ticket
    cw.notes[ticket_id] = [{
        "id": ticket_id * 10, "ticketId": ticket_id, "text": f"{summary} - details",
        "detailDescriptionFlag": True, "internalAnalysisFlag": False, "resolutionFlag": False,
        "contact": {"id": 9, "name": contact}, "member": None, "dateCreated": iso(created),
        "createdBy": contact, "_info": info(created)}]
    return ticket


def note(cw: FakeConnectWise, ticket_id: int, at: str, member: str, text: str,
         internal: bool = False, status: str | None = None, close: bool = False,
         in_sla: bool | None = None) -> None:
    notes = cw.notes[ticket_id]
    notes.append({"id": ticket_id * 10 + len(notes), "ticketId": ticket_id, "text": text,
                  "detailDescriptionFlag": False, "internalAnalysisFlag": internal,
                  "resolutionFlag": close, "member": {"id": 5, "identifier": member,
                                                      "name": member},
                  "contact": None, "dateCreated": iso(at), "createdBy": member,
                  "_info": info(at)})
    ticket = cw.tickets[ticket_id]
    if status:
        ticket["status"] = {"id": 17, "name": status}
    if close:
        ticket.update(closedFlag=True, closedDate=iso(at))
    if in_sla is not None:
        ticket["isInSla"] = in_sla
    ticket["_info"]["lastUpdated"] = iso(at)


def time_entry(cw: FakeConnectWise, entry_id: int, ticket_id: int, start: str, hours: float,
               work_type: str = "Remote", billable: str = "Billable", notes: str = "work") -> None:
    cw.time_entries[entry_id] = {
        "id": entry_id, "chargeToId": ticket_id, "chargeToType": "ServiceTicket",
        "member": {"id": 5, "identifier": "tech.lee"}, "timeStart": iso(start),
        "actualHours": hours, "billableOption": billable, "notes": notes,
        "workType": {"id": 1, "name": work_type}, "workRole": {"id": 2, "name": "Technician"},
        "_info": info(start)}
