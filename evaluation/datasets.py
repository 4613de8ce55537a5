"""The classifier's labelled data sets: a labelled CSV (hand-labelled or a blind batch) or a demo MSP.

Each becomes classifier input (tickets and time entries in the shape logic/classify.py reads) and
the truth to score against. time_entries in a labelled file: entries separated by ';', each
`work_type:minutes[:flag...][:note]` with flags `after` (outside the client's business hours) and
`nb` (not billable); anything else is the entry's note.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from logic.classify import CLF_TIME_COLUMNS
from logic.emergency_model import fit_emergency_model
from logic.message import CLF_TEXTS, READ_TEXTS, read_texts, reads_messages, write_messages
from logic.scope_chain import fit_chain
from logic.word_model import fit_word_model
from policy.classifiers import StoredWordModel
from policy.config import PolicyConfig
from policy.emergency_model import StoredEmergencyModel
from policy.scope_chain import StoredChainModel

LABELLED = Path(__file__).with_name("labelled_tickets.csv")


@dataclass
class Dataset:
    """Tickets and time entries in the classifier's input shape, plus the truth to score against."""

    name: str
    tickets: pd.DataFrame  # clf_tickets columns
    time: pd.DataFrame  # clf_time columns
    truth: pd.DataFrame  # ticket_id, true_scope (set of ids), true_emergency (bool)
    subjects: dict[str, str] = field(default_factory=dict)


def _parse_bool(value: object) -> bool:
    return str(value).strip().lower() in {"true", "t", "yes", "y", "1"}


def parse_time_entries(ticket_id: str, spec: str) -> list[dict[str, object]]:
    """Expand a compact time_entries cell into clf_time rows (format: see module docstring)."""
    rows: list[dict[str, object]] = []
    for seq, entry in enumerate(filter(None, (e.strip() for e in str(spec or "").split(";"))), 1):
        work_type, minutes, *rest = (p.strip() for p in entry.split(":"))
        flags = {p.lower() for p in rest if p.lower() in {"after", "nb"}}
        note = ":".join(p for p in rest if p.lower() not in {"after", "nb"})
        rows.append({"ticket_id": ticket_id, "minutes": float(minutes), "work_type": work_type,
                     "billable": "nb" not in flags, "note": note or None,
                     "outside_hours": "after" in flags, "seq": seq})
    return rows


def _scope_set(value: object) -> frozenset[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return frozenset()
    return frozenset(s.strip() for s in str(value).split(";") if s.strip())


def load_labelled(path: Path = LABELLED) -> Dataset:
    """The hand-labelled tickets as classifier input and truth."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    tickets = pd.DataFrame({
        "ticket_id": df["ticket_id"], "subject": df["subject"], "description": df["description"],
        "category": df["category"], "declared_emergency": df["declared_emergency"].map(_parse_bool),
        "priority": None,
        "affected_users": pd.to_numeric(df["affected_users"], errors="coerce").fillna(1).astype(int),
    })
    time_rows = [row for tid, spec in zip(df["ticket_id"], df["time_entries"], strict=True)
                 for row in parse_time_entries(tid, spec)]
    time = pd.DataFrame(time_rows, columns=list(CLF_TIME_COLUMNS))
    truth = pd.DataFrame({"ticket_id": df["ticket_id"], "true_scope": df["true_scope"].map(_scope_set),
                          "true_emergency": df["true_emergency"].map(_parse_bool)})
    return Dataset("hand-labelled tickets", tickets, time, truth,
                   dict(zip(df["ticket_id"], df["subject"], strict=True)))


def load_demo(seed: int = 7, clients: int = 12, months: int = 6, end_month: str = "2026-10") -> Dataset:
    """Generate a demo MSP into a temp dir and read it back as classifier input and truth.

    outside_hours is approximated as the entry's local time (client's zone) before 08:00, from 18:00,
    or on a Saturday or Sunday; the pipeline uses the client's real calendar instead.
    """
    from demo.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        landing, truth_dir = Path(tmp) / "landing", Path(tmp) / "truth"
        generate(landing, truth_dir, seed=seed, clients=clients, months=months, end_month=end_month)
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        tickets = con.execute(f"""
            SELECT ticket_id, subject, description, category,
                   lower(declared_emergency) = 'true' AS declared_emergency,
                   triage_priority AS priority, try_cast(affected_users AS INTEGER) AS affected_users
            FROM read_csv('{landing}/tickets/*.csv', all_varchar = true, filename = true)
            QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY filename DESC) = 1
        """).df()
        time = con.execute(f"""
            WITH tz AS (
                SELECT client_id, any_value(timezone) AS timezone
                FROM read_csv('{landing}/clients/clients.csv', all_varchar = true) GROUP BY client_id
            ), t AS (
                SELECT ticket_id, client_id
                FROM read_csv('{landing}/tickets/*.csv', all_varchar = true) GROUP BY ALL
            ), e AS (
                SELECT e.ticket_id, e.minutes::DOUBLE AS minutes, e.work_type,
                       e.billable::BOOLEAN AS billable, e.note,
                       timezone(tz.timezone, e.started_at::TIMESTAMPTZ) AS local_start,
                       row_number() OVER (PARTITION BY e.ticket_id ORDER BY e.started_at, e.entry_id) AS seq
                FROM read_json('{landing}/time_entries/*.jsonl', format = 'newline_delimited') e
                JOIN t USING (ticket_id) JOIN tz USING (client_id)
            )
            SELECT ticket_id, minutes, work_type, billable, note,
                   hour(local_start) < 8 OR hour(local_start) >= 18
                       OR isodow(local_start) IN (6, 7) AS outside_hours, seq
            FROM e
        """).df()
        truth = pd.read_csv(truth_dir / "tickets_truth.csv", dtype=str, keep_default_na=False)
    truth = pd.DataFrame({"ticket_id": truth["ticket_id"],
                          "true_scope": truth["true_scope_exclusion"].map(_scope_set),
                          "true_emergency": truth["true_emergency"].map(_parse_bool)})
    return Dataset(f"demo generator (seed {seed}, {clients} clients, {months} months)", tickets, time,
                   truth, dict(zip(tickets["ticket_id"], tickets["subject"], strict=True)))


def input_tables(con: duckdb.DuckDBPyConnection, data: Dataset, policy: PolicyConfig) -> None:
    """clf_tickets and clf_time from a data set (the classifier's input contract), and the texts'
    messages when a reading of `policy` reads them (clf_read_texts: once for the run's readers)."""
    con.register("tickets_df", data.tickets)
    con.register("time_df", data.time)
    con.execute("""CREATE OR REPLACE TEMP TABLE clf_tickets AS
        SELECT ticket_id::VARCHAR AS ticket_id, subject::VARCHAR AS subject,
               description::VARCHAR AS description, category::VARCHAR AS category,
               declared_emergency::BOOLEAN AS declared_emergency, priority::VARCHAR AS priority,
               affected_users::INTEGER AS affected_users
        FROM tickets_df""")
    con.execute("""CREATE OR REPLACE TEMP TABLE clf_time AS
        SELECT ticket_id::VARCHAR AS ticket_id, minutes::DOUBLE AS minutes,
               work_type::VARCHAR AS work_type, billable::BOOLEAN AS billable, note::VARCHAR AS note,
               outside_hours::BOOLEAN AS outside_hours, seq::BIGINT AS seq
        FROM time_df""")
    write_messages(con, policy)


def numbered_files(files: list[Path]) -> list[Dataset]:
    """The labelled files, their tickets numbered in file order ("0", "1", ...: a ticket id may
    repeat across files), in their tickets, time entries and truth alike."""
    data, offset = [], 0
    for f in files:
        d = load_labelled(f)
        number = {tid: str(offset + j) for j, tid in enumerate(d.tickets["ticket_id"])}
        data.append(Dataset(d.name, *(frame.assign(ticket_id=frame["ticket_id"].map(number))
                                      for frame in (d.tickets, d.time, d.truth))))
        offset += len(d.tickets)
    return data


def _combined(files: list[Path], name: str) -> Dataset:
    """The labelled files as one data set (numbered_files, concatenated)."""
    data = numbered_files(files)
    return Dataset(name, *(pd.concat(frames, ignore_index=True)
                           for frames in zip(*((d.tickets, d.time, d.truth) for d in data), strict=True)))


def fit_word_model_on_files(policy: PolicyConfig, files: list[Path], penalty: float | None = None,
                            min_df: int | None = None) -> StoredWordModel:
    """The word model (logic/word_model.py) fitted on labelled files (numbered_files)."""
    data = _combined(files, "word model")
    con = duckdb.connect()
    input_tables(con, data, policy)
    return fit_word_model(policy, con, data.truth, files, penalty, min_df)


def emergency_inputs(policy: PolicyConfig, files: list[Path]) -> tuple[pd.DataFrame, np.ndarray]:
    """The learned emergency signal's inputs (logic/emergency_model.INPUT_COLUMNS, and read_txt: the
    text the reading reads) for every ticket of the labelled files, numbered in file order, and the
    true emergency flags. Each file's semantic vote is taken with that file out of the bank (the
    bank: the policy's concepts and the other files), as a batch nobody had seen is read: its own
    texts never vote on themselves."""
    from logic.emergency import emergency_rules_sql
    from logic.emergency_model import INPUT_COLUMNS
    from logic.semantic import ExemplarBank, labelled_bank, policy_bank, read_texts_of, write_votes
    from logic.text_match import TICKET_TEXT

    concepts = policy_bank(policy)
    banks = {f: labelled_bank([f]) for f in files}
    frames, truths = [], []
    for f, data in zip(files, numbered_files(files), strict=True):
        con = duckdb.connect()
        input_tables(con, data, policy)
        texts, messages = read_texts_of(con, policy, f"SELECT {TICKET_TEXT} AS raw_txt FROM clf_tickets")
        bank = ExemplarBank.concat([concepts, *(banks[g] for g in files if g != f)])
        # the emergency vote only is read (on each text's message with emergency.message_only)
        write_votes(con, policy, texts, bank, text_model=None, messages=messages)
        frames.append(con.execute(f"""
            SELECT r.ticket_id, r.raw_txt, t.category, t.declared_emergency, t.affected_users,
                   r.confidence AS rule_confidence, v.vote, r.term_sets, m.read_txt
            FROM ({emergency_rules_sql(policy)}) r JOIN clf_tickets t USING (ticket_id)
            LEFT JOIN clf_semantic_emergency v ON v.raw_txt = r.raw_txt
            JOIN ({read_texts(policy, CLF_TEXTS)}) m ON m.raw_txt = r.raw_txt""").df())
        frames[-1] = frames[-1].set_index("ticket_id").loc[list(data.tickets["ticket_id"])].reset_index()
        truths.append(data.truth["true_emergency"].to_numpy(bool))
    # read_txt: the text the emergency reading reads (its message), computed once with the inputs
    return pd.concat(frames, ignore_index=True)[[*INPUT_COLUMNS, "read_txt"]], np.concatenate(truths)


def fit_emergency_model_on_files(policy: PolicyConfig, files: list[Path], penalty: float | None = None,
                                 min_df: int | None = None,
                                 inputs: tuple[pd.DataFrame, np.ndarray] | None = None
                                 ) -> StoredEmergencyModel:
    """The learned emergency signal (logic/emergency_model.py) fitted on labelled files (`inputs`:
    emergency_inputs(policy, files) when the caller has them already)."""
    rows, truth = inputs if inputs is not None else emergency_inputs(policy, files)
    con = duckdb.connect()
    con.register("emergency_inputs_df", rows)
    con.execute("CREATE TEMP TABLE emergency_inputs AS SELECT ticket_id::VARCHAR AS ticket_id,"
                " raw_txt::VARCHAR AS raw_txt, category::VARCHAR AS category,"
                " declared_emergency::BOOLEAN AS declared_emergency,"
                " affected_users::INTEGER AS affected_users,"
                " rule_confidence::DOUBLE AS rule_confidence, vote::DOUBLE AS vote,"
                " term_sets::BOOLEAN[] AS term_sets FROM emergency_inputs_df")
    if reads_messages(policy):  # the messages the inputs were read with, not computed again
        con.execute(f"CREATE TEMP TABLE {READ_TEXTS} AS SELECT DISTINCT raw_txt::VARCHAR AS raw_txt,"
                    " read_txt::VARCHAR AS read_txt FROM emergency_inputs_df WHERE read_txt <> raw_txt")
    return fit_emergency_model(policy, con, "emergency_inputs", truth, files, penalty, min_df)


def fit_chain_on_files(policy: PolicyConfig, files: list[Path]) -> StoredChainModel:
    """The classifier chain (logic/scope_chain.py) fitted on labelled files (numbered_files)."""
    data = _combined(files, "chain")
    con = duckdb.connect()
    input_tables(con, data, policy)
    return fit_chain(policy, con, data.truth, files)
