"""File names of the published client reports: safe for any client id."""

import hashlib
import re

# A client id used as it is in a file name: letters, digits, '.', '_' and '-', 100 bytes at most.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


def client_file_stem(client_id: str) -> str:
    """'client-<id>', or for an id that cannot be a file name or URL path as it is ('/', '..',
    '#', '?', '%', NUL, over 100 bytes) 'client-<slug>~<hash>': stable, unique ('~' is never in a
    plain id), and inside the month folder whatever the id holds."""
    if _PLAIN_ID.fullmatch(client_id) and ".." not in client_id:
        return f"client-{client_id}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", client_id).strip(".-")[:40].rstrip(".-") or "id"
    digest = hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"client-{slug.replace('..', '-')}~{digest}"


def client_report_name(client_id: str) -> str:
    """File name of a client's report inside the month folder."""
    return f"{client_file_stem(client_id)}.html"


def client_pdf_name(client_id: str) -> str:
    """File name of a client's PDF report inside the month folder."""
    return f"{client_file_stem(client_id)}.pdf"
