"""The semantic vote beside the rules: similarity of ticket text to labelled exemplars.

The exemplar bank holds (1) the policy's own concept sentences (config/policy.yaml: `concepts` on
each scope exclusion and emergency criterion, `standard_concepts`, `non_emergency_concepts`), (2) the
built-in labelled tickets (evaluation/labelled_tickets.csv) and (3) the provider's own review
decisions (staging.review_decisions, read from that provider's warehouse only). Each distinct ticket
text is embedded once with a static wordllama model whose weights ship inside the installed wheel
(nothing is downloaded), compared with every exemplar in one matrix product, and the `neighbours`
most similar exemplars that know a label vote on it. The votes go to DuckDB as a relation, and the
scope and emergency SQL (logic/classify.py) joins them on the text.

Output relations (temp tables):
  clf_semantic_scope(raw_txt, scope_id, vote DOUBLE, evidence VARCHAR)   -- vote > 0 only
  clf_semantic_emergency(raw_txt, vote DOUBLE, evidence VARCHAR)         -- one row per embedded text
`vote` is the similarity-weighted share of the neighbours that carry the label (0..1), scaled by how
similar they are (a neighbour below `min_similarity` has no vote, one at `full_similarity` a full one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from logic.blas import fit_threads, shared_cores
from logic.embeddings import embed
from logic.emergency_model import emergency_model
from logic.emergency_model import write_weights as write_emergency_weights
from logic.held_files import by_content
from logic.label_votes import label_votes
from logic.message import MessageRows, read_texts_of
from logic.nearest import CHUNK as _CHUNK
from logic.nearest import CONE_ROWS, RunCones, bank_cones, distinct_rows, order_by_cone, similarities
from logic.nearest import blocks as _blocks
from logic.shortlists import HELD_SHARE, LARGE, BuiltinShortlists, bank_vectors, split_bank
from logic.shortlists import members as _members
from logic.shortlists import shortlist as _shortlist
from logic.text_match import TICKET_TEXT
from logic.text_model import EVIDENCE as TEXT_MODEL_EVIDENCE
from logic.text_model import probabilities as text_probabilities
from logic.text_model import text_model as load_text_model
from policy.base import SCOPE_EXCLUSION_IDS
from policy.classifiers import StoredTextModel
from policy.config import PolicyConfig
from policy.emergency_model import StoredEmergencyModel

LABELLED = Path(__file__).resolve().parent.parent / "evaluation" / "labelled_tickets.csv"
EMERGENCY = "emergency"
LABELS = [*SCOPE_EXCLUSION_IDS, EMERGENCY]
# Memory bounds, none of which changes a vote (each text's vector and each text's row of
# similarities are computed on their own; tests/test_semantic_blocks.py checks it):
# 32 MB a block: smaller products cost more (142-row blocks against 29,401 vectors: +40% CPU).
_BLOCK = 1 << 23  # similarities per block (texts x distinct bank vectors)


@dataclass
class ExemplarBank:
    """Labelled texts: value 1/0 per label where known, NaN where the exemplar says nothing about it."""

    ids: list[str]
    texts: list[str]
    described: list[str]  # how evidence names the exemplar: 'ticket L001 "Exchange 2013 retirement"'
    sources: list[str]  # policy | labelled | review
    labels: np.ndarray  # m x len(LABELS), float (1, 0 or NaN)
    weights: np.ndarray  # m

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def concat(banks: list[ExemplarBank]) -> ExemplarBank:
        banks = [b for b in banks if len(b)]
        if not banks:
            return ExemplarBank([], [], [], [], np.zeros((0, len(LABELS))), np.zeros(0))
        return ExemplarBank(
            [i for b in banks for i in b.ids], [t for b in banks for t in b.texts],
            [d for b in banks for d in b.described], [s for b in banks for s in b.sources],
            np.vstack([b.labels for b in banks]), np.concatenate([b.weights for b in banks]))


def _row(scope: set[str] | None, emergency: bool | None,
         scope_known: set[str] | None = None) -> list[float]:
    """One label row. scope None: nothing known about scope; scope_known limits what is known."""
    row = []
    for sid in SCOPE_EXCLUSION_IDS:
        if scope is None or (scope_known is not None and sid not in scope_known):
            row.append(np.nan)
        else:
            row.append(1.0 if sid in scope else 0.0)
    row.append(np.nan if emergency is None else float(emergency))
    return row


def policy_bank(policy: PolicyConfig) -> ExemplarBank:
    """The policy's concept sentences as exemplars (each says something about one label only)."""
    ids, texts, described, labels = [], [], [], []
    for item in policy.scope_exclusions:
        for i, text in enumerate(item.concepts):
            ids.append(f"policy:{item.id}:{i}")
            texts.append(text)
            described.append(f'the policy\'s description of {item.name.lower()} "{text}"')
            labels.append(_row({item.id}, None, {item.id}))
    for i, text in enumerate(policy.scope_classification.standard_concepts):
        ids.append(f"policy:standard:{i}")
        texts.append(text)
        described.append(f'the policy\'s description of standard support "{text}"')
        labels.append(_row(set(), None))
    for criterion in policy.emergency.criteria:
        for i, text in enumerate(criterion.concepts):
            ids.append(f"policy:{criterion.id}:{i}")
            texts.append(text)
            described.append(f'the policy\'s description of {criterion.name.lower()} "{text}"')
            labels.append(_row(None, True))
    for i, text in enumerate(policy.emergency.non_emergency_concepts):
        ids.append(f"policy:not_emergency:{i}")
        texts.append(text)
        described.append(f'the policy\'s description of a non-emergency "{text}"')
        labels.append(_row(None, False))
    weight = policy.scope_classification.semantic.concept_weight
    return ExemplarBank(ids, texts, described, ["policy"] * len(ids),
                        np.array(labels, dtype=float).reshape(-1, len(LABELS)), np.full(len(ids), weight))


def labelled_bank(paths: list[Path] | None = None) -> ExemplarBank:
    """Hand-labelled tickets (the built-in bank and any blind batch already scored): built once
    per process for the same files' content (logic/held_files.py), a copy each call."""
    return ExemplarBank.concat([by_content(paths or [LABELLED], _labelled_bank)])


def _labelled_bank(frames: list[pd.DataFrame]) -> ExemplarBank:
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return ExemplarBank.concat([])
    texts = (df["subject"] + " . " + df["description"]).tolist()
    labels = [_row({s.strip() for s in scope.split(";") if s.strip()},
                   em.strip().lower() in {"true", "t", "yes", "y", "1"})
              for scope, em in zip(df["true_scope"], df["true_emergency"], strict=True)]
    described = [f'labelled ticket {tid} "{subj}"' for tid, subj in zip(df["ticket_id"], df["subject"],
                                                                       strict=True)]
    return ExemplarBank(df["ticket_id"].tolist(), texts, described, ["labelled"] * len(df),
                        np.array(labels, dtype=float), np.ones(len(df)))


# The provider's own reviewers: the decision in force per ticket and question at the as-of instant
# (the warehouse's macro decisions_in_force, warehouse/schema.py, which models/marts/scope_hits.sql
# and ticket_facts.sql read too: a later decision had not been taken, a note is recorded but never
# in force). An approved scope id is a positive exemplar for that id, a
# rejected one a negative; a confirmed emergency a positive, a denied one a negative. Nothing else
# about the ticket is known.
REVIEW_ROWS = """
WITH in_force AS (
    SELECT ticket_id, kind, scope_id, verdict FROM decisions_in_force($as_of)
)
SELECT r.ticket_id, coalesce(t.subject, '') || ' . ' || coalesce(t.description, '') AS txt,
       coalesce(t.subject, '') AS subject, r.kind, r.scope_id, r.verdict, t.first_month
FROM in_force r
JOIN (SELECT ticket_id, any_value(subject) AS subject, any_value(description) AS description,
             min(month) AS first_month
      -- The reviewed tickets only: grouping every staged ticket's texts cost each month a pass
      -- over the warehouse's tickets.
      FROM staging.tickets WHERE ticket_id IN (SELECT ticket_id FROM in_force)
      GROUP BY ticket_id) t USING (ticket_id)
"""
# A ticket of an earlier month: one with a staged row of a month before `$before`.
_REVIEW_EXEMPLARS = """
SELECT ticket_id, txt, subject, kind, scope_id, verdict, first_month FROM {rows}
WHERE $before IS NULL OR first_month < CAST($before AS DATE)
ORDER BY ticket_id, kind, scope_id
"""


def review_bank(con: duckdb.DuckDBPyConnection, policy: PolicyConfig,
                before_month: str | None = None, as_of: datetime | None = None,
                rows: str | None = None) -> ExemplarBank:
    """The review decisions in force in this warehouse as labelled exemplars (one per ticket); with
    before_month, only decisions on tickets of earlier months; with as_of, only decisions taken by
    then (a past month re-run at its as-of instant is taught what its reviewers had said by then).
    `rows` names a relation holding REVIEW_ROWS' result for the same as_of (read once for the
    months of a run); without it, they are read here."""
    if rows is None:
        found = con.execute(_REVIEW_EXEMPLARS.format(rows=f"({REVIEW_ROWS})"),
                            {"before": before_month, "as_of": as_of}).fetchall()
    else:
        found = con.execute(_REVIEW_EXEMPLARS.format(rows=rows), {"before": before_month}).fetchall()
    return _review_exemplars(policy, found)[0]


def _review_exemplars(policy: PolicyConfig, found: list[tuple]) -> tuple[ExemplarBank, list[date]]:
    """_REVIEW_EXEMPLARS' rows as exemplars (one per ticket, in the rows' order), with each one's
    ticket's first month."""
    by_ticket: dict[str, dict[str, object]] = {}
    for ticket_id, txt, subject, kind, scope_id, verdict, first_month in found:
        entry = by_ticket.setdefault(ticket_id, {"txt": txt, "subject": subject, "row": _row(None, None),
                                                 "said": [], "first_month": first_month})
        row: list[float] = entry["row"]  # type: ignore[assignment]
        if kind == "scope" and scope_id in SCOPE_EXCLUSION_IDS:
            row[LABELS.index(scope_id)] = 1.0 if verdict == "approved" else 0.0
            entry["said"].append(f"{verdict} as {scope_id}")  # type: ignore[union-attr]
        elif kind == "emergency":
            row[-1] = 1.0 if verdict == "confirmed" else 0.0
            entry["said"].append(f"emergency {verdict}")  # type: ignore[union-attr]
    ids = list(by_ticket)
    # Votes are per distinct text, shared by every client of the provider: the evidence names the
    # decision, never the reviewed ticket's id or subject (it may be another client's).
    described = [f'a ticket your reviewers decided earlier ({", ".join(by_ticket[i]["said"])})'
                 for i in ids]  # type: ignore[arg-type]
    labels = np.array([by_ticket[i]["row"] for i in ids], dtype=float).reshape(-1, len(LABELS))
    bank = ExemplarBank(ids, [str(by_ticket[i]["txt"]) for i in ids], described, ["review"] * len(ids),
                        labels, np.full(len(ids), policy.scope_classification.semantic.provider_weight))
    return bank, [by_ticket[i]["first_month"] for i in ids]  # type: ignore[misc]


# A run's months each read the decisions on tickets of earlier months: the rows in force at the
# run's as-of instant are read and made exemplars once, and a month takes its tickets' (every row
# of a ticket has the ticket's first month, so a month's rows are whole tickets, in the same order).
@dataclass
class ReviewBanks:
    """Every review exemplar in force at a run's as-of instant, with its ticket's first month."""

    bank: ExemplarBank
    first_months: list[date]

    @staticmethod
    def read(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, rows: str) -> ReviewBanks:
        """From `rows`, a relation holding REVIEW_ROWS' result (review_bank's `rows`)."""
        found = con.execute(_REVIEW_EXEMPLARS.format(rows=rows), {"before": None}).fetchall()
        return ReviewBanks(*_review_exemplars(policy, found))

    def before(self, month: str) -> ExemplarBank:
        """review_bank(before_month=month) of the same rows: decisions on tickets of earlier months."""
        cut = date.fromisoformat(month)
        keep = [k for k, first in enumerate(self.first_months) if first < cut]
        b = self.bank
        return ExemplarBank([b.ids[k] for k in keep], [b.texts[k] for k in keep],
                            [b.described[k] for k in keep], [b.sources[k] for k in keep],
                            b.labels[keep].reshape(-1, len(LABELS)), b.weights[keep])


def builtin_bank(policy: PolicyConfig, labelled: list[Path] | None = None) -> ExemplarBank:
    """Policy concepts and the labelled tickets."""
    return ExemplarBank.concat([policy_bank(policy), labelled_bank(labelled)])


# `text_model` argument: the model the policy names (a fold of leave-one-batch-out passes its own).
POLICY_MODEL = "policy"


@shared_cores()  # many small products, months side by side: logic/blas.py
def votes(policy: PolicyConfig, texts: list[str], bank: ExemplarBank,
          leave_out_same_text: bool = False,
          text_model: StoredTextModel | None | str = POLICY_MODEL,
          cones_of_run: RunCones | None = None,
          own_texts: list[str] | None = None,
          builtin: BuiltinShortlists | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per text and label: the neighbours' vote (n x labels) and the index of the best supporting exemplar.

    A text's vote depends on its vector alone (and, leaving out the query's own text, on which
    bank text that is): it is taken once per distinct vector (texts with the same tokens in another
    order share one) and spread. Per block of those (about `_BLOCK` similarities): one product with
    the bank's distinct vectors, the 4 x `neighbours` nearest exemplars (`_shortlist`: equals in
    bank order), then per label the `neighbours` nearest of them that know the label.
    leave_out_same_text drops an exemplar whose text is the query's own (scoring the bank's own
    tickets). With a text model (logic/text_model.py), its probability is an id's vote where it is
    higher, the best exemplar then being index len(bank) (the model). `cones_of_run`: cones of
    the run's largest bank (logic/nearest.run_cones), kept to this bank's vectors when it holds them all.
    `own_texts`: per text, the text whose exemplar leaving out the query's own drops (a message's
    whole text, logic/message.py); the text itself by default. `builtin`: the built-in exemplars'
    shortlists of a run's recurring texts (logic/shortlists.py), when the bank starts with them.
    """
    sv = policy.scope_classification.semantic
    n, m = len(texts), len(bank)
    model = load_text_model(policy) if isinstance(text_model, str) else text_model
    if n == 0 or m == 0:
        return np.zeros((n, len(LABELS)), dtype=np.float32), np.full((n, len(LABELS)), -1, dtype=np.int64)
    # The bank repeats wordings: each distinct vector is one column, spread by the shortlist to its
    # exemplars (leaving out the query's own text, each distinct text, so only its own are left out).
    position, by_text, ex = bank_vectors(policy, bank.texts, builtin)
    if leave_out_same_text:
        spread = by_text
    else:
        first, column = distinct_rows(ex)
        ex, spread = ex[first], column[by_text]
    d = len(ex)
    # Per label, contiguous: a block's shortlist gathers labels x rows x places at once.
    known_t = np.ascontiguousarray(~np.isnan(bank.labels).T)
    values_t = np.ascontiguousarray(np.nan_to_num(bank.labels, nan=0.0).T)
    short = min(4 * sv.neighbours, m)
    members = _members(spread, d)
    queries = embed(policy, texts)
    own = np.fromiter((position.get(t.lower(), -1) if leave_out_same_text else -1
                       for t in (texts if own_texts is None else own_texts)), dtype=np.int64, count=n)
    first, text_row = distinct_rows(queries, own if leave_out_same_text else None)
    # Cones of the bank (logic/nearest.py) spare the columns no row of a block can take; the
    # queries in cone order, so a block's rows are near the same cones.
    found = None if leave_out_same_text else bank_cones(ex, cones_of_run)
    if found is not None:
        order = order_by_cone(queries[first], found)
        first, text_row = first[order], np.argsort(order)[text_row]
    queries, own = queries[first], own[first]
    q = len(queries)
    # The built-in part's shortlists held for the run, each month's review part merged in.
    split = None if leave_out_same_text else split_bank(policy, bank.texts, builtin, short, cones_of_run)
    held_rows = None if split is None else split.builtin.rows_of([texts[i] for i in first])
    # Few held rows (a run whose texts do not recur): the whole bank's products, as before.
    if held_rows is not None and (held_rows >= 0).sum() >= HELD_SHARE * q:
        tops = split.builtin_tops(queries, held_rows)  # type: ignore[union-attr]
    else:
        split = None
    out = np.zeros((q, len(LABELS)), dtype=np.float32)
    best = np.full((q, len(LABELS)), -1, dtype=np.int64)
    # Rows per block: about `_BLOCK` similarities, and at least 2**24 multiply-adds per product.
    rows = min(_CHUNK, max(_BLOCK // d, (1 << 24) // (d * ex.shape[1]) + 1))
    rows = CONE_ROWS if found is not None else rows
    for start, stop in _blocks(q, rows):
        fit_threads()
        # A block whose whole-bank product is a large one (the same bits either way).
        if split is not None and stop - start > 1 and (stop - start) * d * ex.shape[1] >= LARGE:
            top, top_s = split.top(queries[start:stop], (tops[0][start:stop], tops[1][start:stop]))
        else:
            # block x distinct bank vectors (those of `near`: no row leaves a text out then)
            sims, near = similarities(queries[start:stop], ex, found, short)
            left_out = np.flatnonzero(own[start:stop] >= 0)
            sims[left_out, own[start:stop][left_out]] = -1.0
            top, top_s = _shortlist(sims, members if near is None else
                                    (members[0], members[1][near], members[2][near]), short)
        out[start:stop], best[start:stop] = label_votes(policy, top, top_s, bank.weights, known_t, values_t)
        if model is not None:
            columns, prob = text_probabilities(model, queries[start:stop])
            for k, j in enumerate(columns):
                higher = prob[:, k] > out[start:stop, j]
                out[start:stop, j] = np.where(higher, prob[:, k], out[start:stop, j])
                best[start:stop, j] = np.where(higher, m, best[start:stop, j])
    return out[text_row], best[text_row]


def write_votes(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, texts: list[str],
                bank: ExemplarBank, leave_out_same_text: bool = False,
                text_model: StoredTextModel | None | str = POLICY_MODEL,
                cones_of_run: RunCones | None = None,
                messages: list[str] | None = None,
                builtin: BuiltinShortlists | None = None) -> dict[str, float]:
    """Compute the votes for `texts` and write clf_semantic_scope / clf_semantic_emergency.
    `messages`: per text, its message (logic/message.py): the emergency vote is the message's with
    emergency.message_only; the scope votes of the messages not among `texts` are written too,
    keyed by the message (the scope reading with scope_classification.message_only, and the
    planned-work dampener, join them so)."""
    started = time.perf_counter()
    n = len(texts)
    read = MessageRows.of(texts, messages)
    vote, best = votes(policy, read.texts, bank, leave_out_same_text, text_model, cones_of_run,
                       own_texts=read.owners, builtin=builtin)
    # each text's message's, or with emergency.message_only off the text's own
    em = read.rows if policy.emergency.message_only else np.arange(n)
    em_vote, em_best = vote[em, -1], best[em, -1]
    # To DuckDB as Arrow: texts once as strings, evidence as indices into the exemplars'
    # descriptions (-1, no supporting exemplar: the empty string at the end).
    described = pa.array([*bank.described, TEXT_MODEL_EVIDENCE, ""], type=pa.string())
    scope_cols = len(SCOPE_EXCLUSION_IDS)
    rows, cols = np.nonzero(vote[:, :scope_cols] > 0)
    scope = pa.table({
        "raw_txt": pa.array(read.texts, type=pa.string()).take(pa.array(rows, type=pa.int64())),
        "scope_id": pa.array(SCOPE_EXCLUSION_IDS, type=pa.string()).take(pa.array(cols, type=pa.int64())),
        "vote": pa.array(vote[rows, cols].astype(np.float64)),
        "evidence": described.take(pa.array(best[rows, cols] % (len(bank) + 2))),
    })
    emergency = pa.table({
        "raw_txt": pa.array(texts, type=pa.string()),
        "vote": pa.array(em_vote.astype(np.float64)),
        "evidence": described.take(pa.array(em_best % (len(bank) + 2))),
    })
    con.register("semantic_scope_df", scope)
    con.register("semantic_emergency_df", emergency)
    con.execute("""CREATE OR REPLACE TEMP TABLE clf_semantic_scope AS
        SELECT raw_txt::VARCHAR AS raw_txt, scope_id::VARCHAR AS scope_id, vote::DOUBLE AS vote,
               evidence::VARCHAR AS evidence FROM semantic_scope_df""")
    con.execute("""CREATE OR REPLACE TEMP TABLE clf_semantic_emergency AS
        SELECT raw_txt::VARCHAR AS raw_txt, vote::DOUBLE AS vote, evidence::VARCHAR AS evidence
        FROM semantic_emergency_df""")
    con.unregister("semantic_scope_df")
    con.unregister("semantic_emergency_df")
    return {"texts": n, "exemplars": len(bank), "seconds": round(time.perf_counter() - started, 2)}


def empty_votes(con: duckdb.DuckDBPyConnection) -> None:
    """The vote relations with no rows (semantic vote disabled)."""
    con.execute("CREATE OR REPLACE TEMP TABLE clf_semantic_scope (raw_txt VARCHAR, scope_id VARCHAR,"
                " vote DOUBLE, evidence VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE clf_semantic_emergency (raw_txt VARCHAR, vote DOUBLE,"
                " evidence VARCHAR)")


def prepare_votes(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, bank: ExemplarBank,
                  leave_out_same_text: bool = False, rules: str | None = None,
                  text_model: StoredTextModel | None | str = POLICY_MODEL,
                  emergency_signal: StoredEmergencyModel | str = POLICY_MODEL,
                  cones_of_run: RunCones | None = None,
                  builtin: BuiltinShortlists | None = None) -> dict[str, float]:
    """Votes for the distinct texts of clf_tickets: all of them, or, when there are more than
    `max_texts_all`, only those the emergency rules leave uncertain (docs/classification.md).

    `rules` names a relation with `emergency_rules_sql`'s result; without it, and only when the
    selection needs it, the rules are run here. With the learned emergency signal on (round 13),
    its weights are written too (clf_emergency_weights: the emergency statement joins them): the
    policy's stored model, or `emergency_signal` (a leave-one-batch-out fold's refit).
    `cones_of_run`, `builtin`: see `votes`.
    """
    sv = policy.scope_classification.semantic
    if not sv.enabled:
        empty_votes(con)
        return {"texts": 0, "exemplars": 0, "seconds": 0.0}
    if policy.emergency.learned_model.enabled:  # the signal reads the vote: its weights beside it
        write_emergency_weights(con, emergency_model(policy) if isinstance(emergency_signal, str)
                                else emergency_signal)
    texts = f"SELECT DISTINCT {TICKET_TEXT} AS raw_txt FROM clf_tickets"
    if con.execute(f"SELECT count(*) FROM ({texts})").fetchone()[0] > sv.max_texts_all:
        texts = uncertain_texts(policy, rules)
    texts, messages = read_texts_of(con, policy, texts)
    return write_votes(con, policy, texts, bank, leave_out_same_text, text_model, cones_of_run, messages,
                       builtin)


def uncertain_texts(policy: PolicyConfig, rules: str | None) -> str:
    """SQL: the texts (raw_txt) the rules leave uncertain: an emergency rule fired below
    `uncertain_below`, or the client declared an emergency."""
    from logic.emergency import emergency_rules_sql

    sv = policy.scope_classification.semantic
    source = rules or f"({emergency_rules_sql(policy)})"
    return f"""
        SELECT raw_txt FROM {source} r
        WHERE r.confidence > 0.05 AND r.confidence < {sv.uncertain_below}
        UNION
        SELECT {TICKET_TEXT} FROM clf_tickets WHERE declared_emergency"""
