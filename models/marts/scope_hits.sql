-- marts.scope_hits: scope-exclusion hits per ticket of the month, with review and contract.
-- Reads the temp tables clf_hits and clf_tickets (assets.classification.classify_scope).
--
-- Review decisions win: an approved id stays (or is added by the reviewer), a rejected one is kept
-- for the audit trail but never billed. Abstention: an unreviewed call is billable only when it is
-- `confident`; one that `needs review` waits in the review queue (so does a confident call on a
-- ticket the provider opened itself, by default). A hit is billable unless the
-- contract in force when the ticket was opened includes that id.
-- call_state: the call as billing sees it (confident | needs review | approved | rejected);
-- automated_call_state: the classifier's own state (confident | needs review; NULL when a reviewer
-- added the id).
WITH automated AS (
    -- A confident call on a ticket the provider opened itself (its monitoring) waits for review
    -- when the policy says so (call_states.provider_initiated_needs_review): the client did not ask.
    SELECT h.ticket_id, h.scope_id, h.confidence,
           CASE WHEN held THEN h.evidence || '; opened by the provider itself: held for review'
                ELSE h.evidence END AS evidence,
           'automated' AS source,
           CASE WHEN held THEN 'needs review' ELSE h.call_state END AS automated_call_state
    FROM (SELECT h.*, coalesce($provider_review AND h.call_state = 'confident'
                               AND t.is_provider_initiated, false) AS held
          FROM clf_hits h
          LEFT JOIN staging.tickets t ON t.ticket_id = h.ticket_id AND t.month = $month) h
), reviewed AS (
    -- The decision in force at the as-of instant (macro decisions_in_force, warehouse/schema.py).
    SELECT ticket_id, scope_id, verdict, reviewer, decided_at
    FROM decisions_in_force($as_of) WHERE kind = 'scope'
), added AS (
    SELECT r.ticket_id, r.scope_id, 1.0 AS confidence, 'added by reviewer' AS evidence,
           'review' AS source, NULL::VARCHAR AS automated_call_state
    FROM reviewed r JOIN clf_tickets t USING (ticket_id)
    WHERE r.verdict = 'approved'
      AND NOT EXISTS (SELECT 1 FROM automated a WHERE a.ticket_id = r.ticket_id
                                                   AND a.scope_id = r.scope_id)
), hits AS (
    SELECT * FROM automated UNION ALL SELECT * FROM added
)
SELECT h.ticket_id, c.client_id, c.month, h.scope_id, h.confidence, h.evidence, h.source,
       coalesce(r.verdict, 'unreviewed') AS review_status, r.reviewer, r.decided_at,
       list_contains(c.included_scope, h.scope_id) AS included_in_contract,
       coalesce(r.verdict = 'approved', h.automated_call_state = 'confident')
           AND NOT list_contains(c.included_scope, h.scope_id) AS billable,
       coalesce(r.verdict, h.automated_call_state) AS call_state, h.automated_call_state
FROM hits h
JOIN staging.ticket_contract c ON c.ticket_id = h.ticket_id AND c.month = $month
LEFT JOIN reviewed r ON r.ticket_id = h.ticket_id AND r.scope_id = h.scope_id
