"""The client's own message inside a ticket text: the text less a mail system's leading banner and
the tail after the message (a signature, a reply's header, a notice about the mail itself), found
by their shape per paragraph (a run of non-blank lines), not by any block's wording (round 28):

- a **signature's** paragraph: a card (short lines with no sentence ending, one of them a phone
  number, an e-mail or web address, at most two a machine notice's fields such as "State: DOWN"; or
  two to eight short lines in Title Case: a name, a title, a firm), a sign-off line ("Kind
  regards,", "Thanks") over short lines, or a rule ("--", "-----Original Message-----", "##- ...
  -##") over a card;
- a **notice about the mail**: a paragraph that names the mail itself or whom it is for ("this
  e-mail", "this message", "the intended recipient") and speaks of mail twice or more (three times
  when it says I or we: a client reporting a mail narrates it); or a paragraph of prose in another
  language (almost none of English's commonest words: round 30);
- a **reply's header**: an "On ... wrote:" line or two mail header lines (From:, Sent:, To:, Cc:,
  Date:, Subject:, in four languages), its other lines rules or quoted ("> ...").

The tail starts at the first such paragraph (never the first paragraph) after which every
paragraph is one too, or is a single short line (a mobile sign-off, a rating request) or names
nobody (no I, we, you, no question: a company's registration) and follows a signature or a notice;
a forwarded mail's own body under its header is the client's evidence and stays. A signature's card
may also be a name over three to ten short lines most of them in Title Case (awards, accreditations,
links: round 30). A banner is a first paragraph of at most 45 words about the mail, naming nobody and
asking nothing, that names the mail itself or has the client's words after it (I or we, or a
question: round 30, so that a message about mail above a block the reading does not know is not
taken for one); a run of marker lines ("[...]", "<...>", text inside a rule) is a system's note,
dropped before the message and read as a short line after it. The message is never cut before its
own first paragraph. In the last paragraph kept, the short lines under a sign-off line go too (a signature
with no blank line above it; the sign-off stays). A cut that leaves fewer than `MIN_WORDS` words
with the subject is not made, and a text without a line break is returned as it is, unread.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from logic.text_match import TICKET_TEXT
from policy.config import PolicyConfig
from warehouse.sqlquote import sql_literal

SENTENCE = " . "  # logic.text_match.SENTENCE between subject and description
MIN_WORDS = 4
SHORT_LINE = 12  # words

_NL = "chr(10)"
# a phone number (+44 ..., 0113 ..., (555) ...: not an IP address or a time), an e-mail or web address
_CONTACT = r"((\+|\(|\b0)\d?[\d ()-]{7,}\d|[\w.+-]+@[\w-]+\.[\w.-]+|https?://|www\.)"
_FIELD = r"^\s*[A-Za-z][A-Za-z /]{1,24}:\s*\S"  # "State: DOWN" (a machine's notice)
_SIGN_OFF = (r"^\s*((kind|best|warm|warmest|many|with|all the)\s+)?(regards|thanks|thank you|wishes"
             r"|cheers|sincerely|rgds|thx|yours\s+(sincerely|faithfully|truly))\b[\s,.!]*(\S+\s*){0,2}$")
_RULE = r"^\s*([-_=*~#]{2,}.*[-_=*~#]{2,}|--|[-_=*~]{2,}|[–—])\s*$"
# a marker line: text inside a rule ("*** ... ***", "##- ... -##") or wholly in brackets ("[...]",
# "<...>"), a mail or chat system's note, not a sentence of the client's
_MARKER = r"^\s*([-_=*~#]{2,}.*[-_=*~#]{2,}|\[[^\]]*\]|<[^>]*>)\s*$"
# English's commonest function words: a paragraph of prose with almost none of them is in another
# language (a notice the mail system adds; the clients write English)
_ENGLISH = (r"\b(the|a|an|and|or|but|to|of|in|on|at|for|from|with|by|is|are|was|were|be|been|it|its"
            r"|this|that|these|those|not|no|can|will|would|should|please|have|has|had|all|as|if|so"
            r"|up|out|down|since|any|our|we|you|your|i|my|me|us|they|them|there|here|what|when|how"
            r"|do|does|did|just|still|get|got|need|needs|new|after|before|into|over|about|again)\b")
_HEADER_NAMES = ("from|sent|to|cc|bcc|date|subject|reply-to|von|gesendet|an|betreff|de|envoy[eé]|[aà]"
                 "|objet|enviado|para|asunto")
_HEADER = rf"^\s*>?\s*\*?({_HEADER_NAMES})\*?\s*:\s*\S"
_WROTE = r"^\s*>?\s*(on|le|am|el)\s.{4,}\s(wrote|a [eé]crit|schrieb|escribi[oó])\s*:\s*$"
_MAIL_TALK = (r"\b(e-?mails?|messages?|communications?|transmissions?|senders?|recipients?|addressees?"
              r"|attachments?|links?)\b")
_SELF = (r"\bthis\s+(e-?mail|message|communication|transmission)\b"
         r"|\b(recipient|addressee)s?\b")  # the mail itself, or whom it is for
_CAPITALISED = r"\b[A-Z][A-Za-z.&]*"
_STARTS_UPPER = r"^\s*[A-Z]"
_ENDS_SENTENCE = r"[.?!]\s*$"
_QUOTED = r"^\s*>"
_PERSON = r"\b(i|i'm|i've|i'd|i'll|me|my|we|we're|we've|our|us)\b"
_ANYONE = r"\b(i|i'm|i've|i'd|i'll|me|my|we|we're|we've|our|us|you|your)\b"
# a standing notice (round 31): a label of one to three words and a colon opening the paragraph
# ("Payments:", "Security notice:"), prose to any reader in the conditional ("if you receive ..."),
# no one in the first person singular
_LABEL = r"^\s*[A-Z][A-Za-z]*(\s+[A-Za-z]+){0,2}\s*:\s+\S"
_TO_READER = r"\bif\s+you\b"
_SINGULAR = r"\b(i|i'm|i've|i'd|i'll|me|my)\b"


def _words(line: str) -> str:
    """SQL: the words of `line`: runs of non-space holding a letter or digit (a web address is one
    word, a "|" none)."""
    return f"len(regexp_extract_all({line}, '\\S*[A-Za-z0-9]\\S*'))"


_SHORT = f"{_words('l')} <= 12"
_UNENDED = f"NOT regexp_matches(l, {sql_literal(_ENDS_SENTENCE)})"
_SHORT_OR_QUOTED = f"({_words('l')} <= 16 OR regexp_matches(l, {sql_literal(_QUOTED)}))"


def _re(value: str, pattern: str, flags: str = "i") -> str:
    return f"regexp_matches({value}, {sql_literal(pattern)}, '{flags}')"


def _all(ls: str, cond: str) -> str:
    """SQL: every line of the list `ls` meets `cond` (over `l`)."""
    return f"coalesce(list_bool_and(list_transform({ls}, lambda l: {cond})), true)"


def _any(ls: str, cond: str) -> str:
    return f"list_bool_or(list_transform({ls}, lambda l: {cond}))"


def _title_case(line: str, most: int = 6) -> str:
    """SQL: a line of at most `most` capitalised words (a name, a title, a firm), no sentence ending,
    not a field ("State: DOWN")."""
    return (f"({_words(line)} BETWEEN 1 AND {most} AND {_re(line, _STARTS_UPPER, '')}"
            f" AND NOT {_re(line, _ENDS_SENTENCE, '')} AND NOT {_re(line, _FIELD, '')}"
            f" AND len(regexp_extract_all({line}, {sql_literal(_CAPITALISED)})) * 10"
            f" >= 6 * {_words(line)})")


def _talk(par: str) -> str:
    return f"len(regexp_extract_all(lower({par}), {sql_literal(_MAIL_TALK)}))"


def _is_mail_talk(par: str) -> str:
    """SQL: a paragraph about the mail itself (a notice, a disclaimer, a footer): it names this mail
    or its recipient and talks of mail twice (three times when it says I, me or my)."""
    return (f"({_re(par, _SELF)} AND ({_talk(par)} >= 3"
            f" OR ({_talk(par)} >= 2 AND NOT {_re(par, _PERSON)})))")


def _is_banner(par: str) -> str:
    """SQL: a first paragraph that warns about the mail: short, about the mail, nobody's words, no
    question."""
    return (f"({_talk(par)} >= 2 AND {_words(par)} <= 45 AND NOT {_re(par, _PERSON)}"
            f" AND strpos({par}, '?') = 0)")


def _is_card(ls: str, least: int) -> str:
    """SQL: the lines `ls` are a signature's card: short lines with no sentence ending, one of them a
    contact and at most two fields of a machine's notice ("State: DOWN"); or `least` to eight
    short lines in Title Case (a name, a title, a firm)."""
    fields = f"len(list_filter({ls}, lambda l: {_re('l', _FIELD, '')} AND NOT {_re('l', _CONTACT)}))"
    contact = (f"({_all(ls, _SHORT)} AND {_all(ls, _UNENDED)} AND {_any(ls, _re('l', _CONTACT))}"
               f" AND {fields} < 3)")
    # a long card: a name over three to ten short lines, most of them in Title Case (titles, firms,
    # awards, accreditations), a line or two not (a link, an invitation)
    titled = f"len(list_filter({ls}, lambda l: {_title_case('l', SHORT_LINE)}))"
    long_card = (f"(len({ls}) BETWEEN 3 AND 10 AND {_all(ls, _SHORT)} AND {_all(ls, _UNENDED)}"
                 f" AND {_title_case(ls + '[1]', 4)} AND {titled} * 10 >= 6 * len({ls}))")
    return (f"({contact} OR (len({ls}) BETWEEN {least} AND 8 AND {_all(ls, _title_case('l'))})"
            f" OR {long_card})")


def _is_signed(par: str, ls: str) -> str:
    """SQL: the paragraph `par` (its lines `ls`) is a signature (a card, a sign-off over short lines,
    a rule over a card) or a notice about the mail."""
    rest = f"{ls}[2:]"
    signed = f"({_re(ls + '[1]', _SIGN_OFF)} AND {_all(rest, _SHORT)} AND {_all(rest, _UNENDED)})"
    ruled = f"({_re(ls + '[1]', _RULE, '')} AND (len({ls}) = 1 OR {_is_card(rest, 1)}))"
    return (f"({_is_card(ls, 2)} OR {signed} OR {ruled} OR {_is_mail_talk(par)} OR {_is_foreign(par, ls)}"
            f" OR {_is_standing_notice(par, ls)})")


def _is_standing_notice(par: str, ls: str) -> str:
    """SQL: a paragraph opening with a label and a colon (not a reply header's field) that speaks to
    any reader in the conditional ("if you receive such a request, call ...") and names no one in the
    first person singular, asking nothing: a notice a firm's mail system adds to every mail (a
    payments or security warning), not the client's account of the ticket (round 31)."""
    return (f"({_re(ls + '[1]', _LABEL, '')} AND NOT {_re(ls + '[1]', _HEADER)} AND {_re(par, _TO_READER)}"
            f" AND NOT {_re(par, _SINGULAR)} AND strpos({par}, '?') = 0)")


def _is_header(ls: str) -> str:
    """SQL: the lines `ls` are a reply's header: an "On ... wrote:" line or two header lines, the
    other lines rules or quoted."""
    headers = f"len(list_filter({ls}, lambda l: {_re('l', _HEADER)}))"
    lone = f"({_re('l', _HEADER)} OR {_re('l', _WROTE)} OR {_re('l', _RULE, '')} OR {_re('l', _QUOTED, '')})"
    return (f"(({_any(ls, _re('l', _WROTE))} OR {headers} >= 2) AND {_all(ls, lone)}"
            f" AND {_all(ls, _SHORT_OR_QUOTED)})")


def _is_foreign(par: str, ls: str) -> str:
    """SQL: a paragraph of prose lines (each of twelve words or more, none quoted) fewer than six in a
    hundred of whose words are English's commonest function words: a notice in another language (a
    machine's alert, in short lines, is not one)."""
    english = f"len(regexp_extract_all(lower({par}), {sql_literal(_ENGLISH)}))"
    prose = f"{_words('l')} >= {SHORT_LINE} AND NOT {_re('l', _QUOTED, '')}"
    return f"({_all(ls, prose)} AND {english} * 100 < 6 * {_words(par)})"


def _is_marked(ls: str) -> str:
    """SQL: every line of `ls` is a marker or a rule, one at least a marker: a mail or chat system's
    note ("[Image removed]", "*** translated ... ***"), nothing the client wrote."""
    marked = f"{_re('l', _MARKER, '')} OR {_re('l', _RULE, '')}"
    return f"({_all(ls, marked)} AND {_any(ls, _re('l', _MARKER, ''))})"


def _cut_signature(par: str) -> str:
    """SQL: `par` up to a sign-off line (kept, not the first) whose lines below are all short or
    contacts; `par` when there is none."""
    short = f"{_words('l')} <= 8 OR {_re('l', _CONTACT)}"
    below = "list_bool_and(list_transform(ls[i + 1:], lambda l: " + short + "))"
    signs = f"list_filter(range(2, len(ls)), lambda i: {_re('ls[i]', _SIGN_OFF)} AND {below})"
    cut = f"CASE WHEN len(signs) > 0 THEN array_to_string(ls[1:signs[1]], {_NL}) ELSE {par} END"
    return _let(f"string_split({par}, {_NL})", "ls", _let(signs, "signs", cut))


def _let(value: str, name: str, body: str) -> str:
    """SQL: `body` with the lambda parameter `name` bound to `value` (computed once)."""
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def message_sql(text: str) -> str:
    """SQL: the client's message of a ticket text (TICKET_TEXT: subject, ' . ', description)."""
    at = f"strpos({text}, {sql_literal(SENTENCE)})"
    head = f"substr({text}, 1, {at} + {len(SENTENCE) - 1})"
    body = f"replace(substr({text}, {at} + {len(SENTENCE)}), chr(13), '')"
    paras = f"list_filter(regexp_split_to_array({body}, '\\n[ \\t]*\\n'), lambda p: trim(p) <> '')"
    # A banner or a system's note before the message (round 30: a note is marked; a banner goes only
    # when it names the mail itself or the paragraph after it is the client's: it says I or we, or
    # asks; a message about mail above a block the reading does not know is the message): the
    # message starts at the second paragraph, and is never cut before its own first paragraph.
    note = _let(f"string_split(paras[1], {_NL})", "ls", _is_marked("ls"))
    own = f"({_re('paras[1]', _SELF)} OR {_re('paras[2]', _PERSON)} OR strpos(paras[2], '?') > 0)"
    first = f"CASE WHEN len(paras) >= 2 AND ({_is_banner('paras[1]')} AND {own} OR {note}) THEN 2 ELSE 1 END"
    # per paragraph: 2 a signature's or a notice's, 1 a reply header, 0 a short line (a mobile
    # sign-off; or a forwarded mail's own body) or a run of markers, -2 a paragraph naming nobody (no
    # I, we, you; no question), -1 the client's (the message's first paragraph, never cut, is not read)
    flag = (f"CASE WHEN k <= first THEN -1 WHEN {_is_header('ls')} THEN 1 WHEN {_is_signed('p', 'ls')} THEN 2"
            f" WHEN (len(ls) = 1 AND {_words('p')} <= {SHORT_LINE}) OR {_is_marked('ls')} THEN 0"
            f" WHEN NOT {_re('p', _ANYONE)} AND strpos(p, '?') = 0 THEN -2 ELSE -1 END")
    flags = f"list_transform(paras, lambda p, k: {_let(f'string_split(p, {_NL})', 'ls', flag)})"
    # the tail starts at the first paragraph (after the message's first) that is a signature's, a
    # notice's or a reply header, after which every paragraph is one too, or is a short line or names
    # nobody and comes after a signature's or a notice's (a forwarded mail's body under its header stays)
    ends = ("lambda f, i: i > first AND f >= 1 AND coalesce(list_bool_and(list_transform(flags[i + 1:],"
            " lambda g, j: g >= 1 OR (g IN (0, -2) AND list_contains(flags[i:i + j - 1], 2)))), true)")
    last = f"coalesce(list_position(list_transform(flags, {ends}), true) - 1, len(flags))"
    kept = f"list_concat(paras[first:last - 1], [{_cut_signature('paras[last]')}])"
    msg = f"array_to_string(kept, {_NL} || {_NL})"
    # nothing cut: the text as it is (not its paragraphs joined again)
    checked = (f"CASE WHEN kept = paras OR {_words(head + ' || msg')} < {MIN_WORDS} THEN {text}"
               f" ELSE {head} || msg END")
    read = _let(paras, "paras", _let(first, "first", _let(flags, "flags", _let(last, "last",
                _let(kept, "kept", _let(msg, "msg", checked))))))
    return f"CASE WHEN strpos({text}, {_NL}) = 0 OR {at} = 0 THEN {text} ELSE coalesce({read}, {text}) END"


# The one relation of a run's messages (a temp table or view on the connection that reads it):
# (raw_txt, read_txt) for each text of the run whose message differs from it. Built once where a
# run prepares clf_tickets (write_messages), when either reading reads messages; every reader joins
# it through read_rows, so no text's message is computed twice in a run (round 30).
READ_TEXTS = "clf_read_texts"
CLF_TEXTS = f"(SELECT {TICKET_TEXT} AS raw_txt FROM clf_tickets)"


def changed_messages_sql(texts: str) -> str:
    """SQL: (raw_txt, read_txt) for each distinct raw_txt of the relation `texts` whose message
    differs from it: the one statement that computes messages."""
    return (f"SELECT raw_txt, read_txt FROM (SELECT raw_txt, {message_sql('raw_txt')} AS read_txt"
            f" FROM (SELECT DISTINCT raw_txt FROM {texts} WHERE raw_txt IS NOT NULL))"
            " WHERE read_txt <> raw_txt")


def write_messages(con: duckdb.DuckDBPyConnection, policy: PolicyConfig | None,
                   texts: str = CLF_TEXTS) -> None:
    """The temp table READ_TEXTS for the texts (raw_txt) of `texts` (default: clf_tickets'), when a
    reading of `policy` reads messages (None: whatever the policy; tests reading one set of tickets
    under several policies); nothing otherwise (no reader joins it then)."""
    if policy is None or reads_messages(policy):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {READ_TEXTS} AS {changed_messages_sql(texts)}")


def read_rows(relation: str, message_only: bool) -> str:
    """SQL: the rows of `relation` (a raw_txt column among others) with read_txt, the text a reading
    reads: with `message_only` its message (READ_TEXTS), else the text itself."""
    if not message_only:
        return f"SELECT *, raw_txt AS read_txt FROM {relation}"
    return (f"SELECT x.*, coalesce(m.read_txt, x.raw_txt) AS read_txt FROM {relation} x"
            f" LEFT JOIN {READ_TEXTS} m USING (raw_txt)")


def texts_read(relation: str, message_only: bool) -> str:
    """SQL: (raw_txt, read_txt) for each distinct raw_txt of `relation` (read_rows)."""
    return read_rows(f"(SELECT DISTINCT raw_txt FROM {relation})", message_only)


def read_texts(policy: PolicyConfig, relation: str) -> str:
    """SQL: (raw_txt, read_txt) for each distinct raw_txt of `relation`: the text the emergency
    reading reads, its message with emergency.message_only, else the text itself."""
    return texts_read(relation, policy.emergency.message_only)


def scope_read_texts(policy: PolicyConfig, relation: str) -> str:
    """SQL: (raw_txt, read_txt) for each distinct raw_txt of `relation`: the text the scope reading
    (rules, vote, word model) reads, its message with scope_classification.message_only (round 29)."""
    return texts_read(relation, policy.scope_classification.message_only)


def reads_messages(policy: PolicyConfig) -> bool:
    """Whether either reading reads the texts' messages (the vote then votes on them too)."""
    return policy.emergency.message_only or policy.scope_classification.message_only


def read_texts_of(con: duckdb.DuckDBPyConnection, policy: PolicyConfig,
                  texts: str) -> tuple[list[str], list[str] | None]:
    """The distinct texts (raw_txt) of the query `texts` in order, and, when a reading reads
    messages (emergency or scope message_only), the message of each (else None; READ_TEXTS)."""
    on = reads_messages(policy)
    rows = con.execute(f"SELECT raw_txt, read_txt FROM ({texts_read(f'({texts})', on)})"
                       " ORDER BY raw_txt").fetchall()
    return [r[0] for r in rows], [r[1] for r in rows] if on else None


@dataclass(frozen=True)
class MessageRows:
    """What the semantic vote embeds for texts and their messages: the texts, then the messages
    that are not among them (`texts`); per row the text whose own exemplar leaving out the query's
    text drops (`owners`, None: each row's own); per text the row its message is (`rows`)."""

    texts: list[str]
    owners: list[str] | None
    rows: np.ndarray

    @staticmethod
    def of(texts: list[str], messages: list[str] | None) -> MessageRows:
        n = len(texts)
        if not messages:
            return MessageRows(texts, None, np.arange(n, dtype=np.int64))
        at = {t: i for i, t in enumerate(texts)}
        owner: dict[str, str] = {}
        for t, m in zip(texts, messages, strict=True):
            if m not in at:
                owner.setdefault(m, t)
        extra = sorted(owner)
        at.update({m: n + i for i, m in enumerate(extra)})
        return MessageRows([*texts, *extra], [*texts, *(owner[m] for m in extra)],
                           np.fromiter((at[m] for m in messages), dtype=np.int64, count=n))
