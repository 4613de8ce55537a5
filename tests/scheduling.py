"""How `make test` schedules the tests: which are `slow`, which share a worker (`--dist
loadgroup`), and which start first. Loaded by tests/conftest.py (its hooks are this module's)."""

import os

import pytest

# Fixtures that run the pipeline: a test asking for one is end to end, and marked slow. Besides
# tests/conftest.py's, the provider fixtures of the modules that build one at module scope.
E2E_FIXTURES = {
    "run_pipeline", "builds", "ops_env",  # tests/conftest.py (known_built, known_copy...), test_operations
    "demo", "dirty", "built", "known", "hostile", "catalogue", "real_runs",  # module builds
    "msp", "month", "editions",  # test_report_*, test_browser: providers built with tests/report_msp
    "browser",  # test_browser: a headless Chromium
    "backfill",  # test_run_output: the known MSP's three months as one run that publishes
    "published",  # test_fair_use: the reports that run published
}
# Tests that run the pipeline without such a fixture (a subprocess, generated deliveries, a run
# of their own), or are slow for another reason, by node id prefix.
SLOW_TESTS = ("tests/test_mappings.py::test_example_mapping_publishes_from_its_example_export",
             "tests/test_hostile_", "tests/test_sla.py", "tests/test_api_files_vs_api.py",
             "tests/test_run_output.py::test_an_export_without_event_dates",
             # Not end to end but seconds each on 2 cores: property tests checked against a walk
             # minute by minute, and classifications that embed texts under a policy of their own.
             "tests/test_business_time.py::test_business_minutes_match_the_minute_walk",
             "tests/test_business_time.py::test_next_opening_matches_the_minute_walk",
             "tests/test_business_time.py::test_night_hours_on_change_nights_match_the_minute_walk",
             "tests/test_business_time.py::test_always_open_equals_real_elapsed_minutes",
             "tests/test_classify.py::test_thresholds_come_from_the_config",
             "tests/test_classify.py::test_terms_come_from_the_config",
             "tests/test_classify.py::test_semantic_veto_lowers_a_rule_call",
             "tests/test_classify.py::test_semantic_vote_names_the_nearest_exemplar",
             "tests/test_classify.py::test_call_states_follow_the_configured_bands",
             "tests/test_classify.py::test_demo_ground_truth_evaluates",
             "tests/test_classify.py::test_labelled_evaluation_meets_targets",
             "tests/test_classify.py::test_review_decision_changes_the_call_on_a_similar_ticket",
             "tests/test_classify.py::test_above_the_text_budget_only_uncertain_texts_are_embedded",
             # The slowest of `-m "not slow"` (5 to 27 s each on a loaded 2-core machine): each
             # runs the rule SQL two to four times under policies or banks of its own.
             "tests/test_classify.py::test_a_batch_scored_with_itself_out_of_the_bank",
             "tests/test_classify.py::test_learning_curve_records_a_batch_once",
             "tests/test_classify.py::test_a_visit_asked_for_but_only_remote_work_logged",
             "tests/test_classify_round6.py::test_a_rule_call_the_neighbours_disagree_with",
             "tests/test_classify_round6.py::test_a_declaration_",
             "tests/test_classify_round6.py::test_a_call_at_0_6_the_vote_does_not_hold",
             "tests/test_classify_learned.py::test_a_learned_model_flips_a_call",
             "tests/test_classify_learned.py::test_learned_calls_",
             "tests/test_semantic_blocks.py::test_votes_do_not_depend_on_blocks_cache",
             "tests/test_semantic_blocks.py::test_a_block_of_similarities_is_bounded",
             # Added since (2026-12-04): 2-6 s of CPU each in a whole run, 46 of the 99 s the
             # tests of `-m "not slow"` took there (make test-fast had grown to 2 min).
             "tests/test_calibration.py::test_the_map_changes_states_and_shown_confidence",
             "tests/test_calibration.py::test_a_raw_0_85_scope_call_needs_review",
             "tests/test_calibration.py::test_a_call_on_the_vote_alone_is_never_confident",
             "tests/test_scope_match_store.py::test_stored_matches_are_the_rules_own",
             "tests/test_scope_match_store.py::test_other_rules_do_not_read_the_stored_matches",
             "tests/test_classify_round14.py::",
             "tests/test_classify_round15.py::test_the_chain_lifts_structured_project_work",
             "tests/test_classify_round12.py::test_review_only_keeps_a_call_made_by_the_word_model",
             "tests/test_emergency_model.py::test_round_15_a_rule_call_on_routine_text",
             "tests/test_emergency_model.py::test_the_signal_raises_a_terse_incident",
             "tests/test_emergency_model.py::test_a_notice_field_state_raises_an_unseen",
             "tests/test_emergency_model.py::test_the_signal_holds_an_over_declared",
             "tests/test_adapters.py::test_servicenow_variants_give_the_same_canonical_files",
             "tests/test_operations.py::test_monthly_close_publishes_the_previous_month",
             # 2026-12-05 (t7): 8 s of CPU, 3000 texts voted twice; the cone's bound it rests on
             # stays in `-m "not slow"` (test_a_cone_bounds_its_members).
             "tests/test_semantic_prune.py::test_votes_with_cones_are_the_votes_of_whole_rows",
             # 2026-12-05 (t10): the two costliest of `-m "not slow"` in a whole run (9.9 and 6.3 s
             # of CPU at load 19, of 125 s): the run's cones' twin of the test above, and a range's
             # votes against each month's (test_a_range_classifies... is slow already).
             "tests/test_semantic_prune.py::test_votes_with_a_runs_cones_are_the_votes_of_whole_rows",
             "tests/test_classify_range.py::test_one_statement_for_a_range_gives_each_month_its_own_votes",
             # 2026-12-06 (s32): `-m "not slow"` had grown to 738 tests, 198 s of CPU and 4:33 at
             # load 5-7 (make test-fast far over its minute); the costliest of them in a whole run
             # (load 7-11), 2-5 s of CPU each in the test's own call, not in a shared fixture.
             "tests/test_emergency_match_store.py::test_a_second_run_reads_the_stored_matches",
             "tests/test_emergency_match_store.py::test_other_rules_do_not_read_the_stored_matches",
             "tests/test_classification_months_side_by_side.py::test_votes_on_one_blas_thread",
             "tests/test_classify_round17.py::test_a_machine_notice_is_not_called_on_the_word_models_vote",
             "tests/test_semantic_prune.py::test_a_similarity_does_not_depend_on_the_columns_beside_it",
             "tests/test_classify_range.py::test_a_range_reads_each_month_s_exemplars_once",
             "tests/test_emergency_model.py::test_a_reading_the_rules_dampened_for_one_user_needs",
             "tests/test_emergency_model.py::test_round_18_a_rule_naming_the_incident_by_its_nature",
             "tests/test_emergency_model.py::test_each_files_vote_is_taken_without_its_own_tickets",
             "tests/test_emergency_model.py::test_fitting_is_deterministic",
             "tests/test_emergency_model.py::test_below_the_bar_p_is_evidence_of_weight_below",
             "tests/test_emergency_hold.py::test_a_held_call_is_multiplied_by_the_factor_at_its_p",
             "tests/test_classify_round12.py::test_the_call_names_the_word_model",
             "tests/test_calibration.py::test_a_declared_emergency_call_the_vote_disagrees_with",
             "tests/test_embedding_store.py::test_the_emergency_step_prunes_after_a_run_over_every_month")
# The longest work units of `make test` (a module's group, or one test), longest first, from the
# durations of a whole run on 2 workers (2026-12-04, 18:34, load 6-15: seconds of wall in brackets):
# they start first, so that the quick tests fill in at the end instead of one long test running
# alone on one worker while the other has nothing left; the first two go to different workers.
# test_publish and test_demo read the demo test_browser builds (under a file lock): not side by side.
LONGEST_FIRST = ("tests/test_browser.py",  # one group (237)
                 "tests/test_expectations.py",  # (192)
                 "tests/test_operations.py::test_two_runs_started_together",  # (160)
                 "tests/test_adapters.py::test_servicenow_log_end_to_end",  # its group (103)
                 "tests/test_run_output.py::test_a_backfill",  # its group (72)
                 "tests/test_operations.py::test_a_run_killed_mid_way",  # (58)
                 "tests/test_api_files_vs_api.py",  # (53)
                 "tests/test_report_invoicing.py",  # (52)
                 "tests/test_classify_range.py::test_a_range_classifies",  # (45)
                 "tests/test_mappings.py::test_example_mapping_publishes",  # (41 for halopsa)
                 "tests/test_sla.py::test_events_after_the_as_of_instant",  # (41)
                 "tests/test_publish.py",  # its group (61, of it 29 waiting for the demo build)
                 "tests/test_operations.py::test_a_backfill_is_one_run",  # (36)
                 "tests/test_ingest.py::test_rerun_and_redelivered_file_add_nothing",  # (36)
                 "tests/test_report_currency.py",  # (35)
                 "tests/test_semantic_blocks.py::test_a_block_of_similarities",  # (34)
                 "tests/test_hostile_generative.py")  # (30)


def pytest_configure(config: pytest.Config) -> None:
    """The `slow` mark, one month at a time, the groups' order and their ids."""
    config.addinivalue_line(
        "markers", "slow: runs the pipeline end to end (a built provider or a real public export),"
        " a browser, or takes seconds of CPU on its own; `make test` runs these,"
        " `pytest -m 'not slow'` leaves them out")
    # One month at a time: on 2 shared cores, months side by side and the GX worker processes
    # they start cost more than they save on test-sized data. The tests of that path set it to 2.
    os.environ.setdefault("MSP_MONTH_WORKERS", "1")
    # xdist hands out groups in the order `_longest_first` gives, not by their number of tests.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    config.pluginmanager.register(_GroupIds(), "msp-loadgroup-ids")
    _hypothesis_not_rewritten(config)


def _hypothesis_not_rewritten(config: pytest.Config) -> None:
    """Leave Hypothesis's own modules to Python's import, not pytest's assert rewriting.

    Hypothesis is a pytest plugin (an entry point), so pytest marks its whole package for
    rewriting: each process that imports it (each worker at collection, for test_business_time
    and test_hostile_generative, and the controller in its terminal summary, the run's last
    step) parses and compiles about 45 of its modules again, 1.5-5 s of CPU each time where
    PYTHONDONTWRITEBYTECODE keeps pytest from caching them. Its asserts are not ours: our
    tests' asserts (test modules, conftest) are rewritten as before.
    """
    hook = getattr(config.pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)  # pytest's own set (private: checked)
    if isinstance(marked, set) and "hypothesis" in marked:
        marked.discard("hypothesis")
        getattr(hook, "_marked_for_rewrite_cache", {}).clear()


class _GroupIds:
    """Give the tests marked `xdist_group` the `<nodeid>@<group>` ids `--dist loadgroup` groups by.

    pytest-xdist 3.8 writes them into `item._nodeid`, which pytest 9.2 no longer reads (its node
    ids are structured), so without this `make test` silently grouped nothing and each worker
    built a module's provider again (pytest-dev/pytest-xdist#1386; the fix, #1388, is unreleased).
    """

    @pytest.hookimpl(trylast=True)  # after xdist's own hook, on each worker
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        try:
            from _pytest.nodeid import NodeId
        except ImportError:  # pytest before 9.2: xdist's own renaming works
            return
        if not getattr(config.option, "loadgroup", False):
            return
        for item in items:
            groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                             for m in item.iter_markers("xdist_group")})
            suffix = f"@{'_'.join(groups)}"  # a parameter id may hold an "@" of its own
            if groups and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
                item._id = NodeId.parse(f"{item.nodeid}{suffix}")


# The session's one classification of every module's `shipped_cases()` (tests/shipped_calls.py):
# the tests that read it run on one worker (`--dist loadgroup`), which classifies them once.
SHIPPED_GROUP = "shipped-classification"


# Module-scoped classifications of several tests' cases at once (test_classify's and round 6's and 8's
# `shipped`, round 6's `rules_only`, round 8's `disagreeing`, round 14's `prepared` votes and
# reading): grouped like a module's build, so that `--dist loadgroup` runs them once, not once on
# each worker.
SHARED_CLASSIFICATIONS = {"shipped", "rules_only", "disagreeing", "prepared",
                          # one-ticket rules read at once: rounds 21, 22 and 24, the dampeners,
                          # look-alikes, symptoms and data exposure (rounds 29-33)
                          "rules_read_ahead",
                          # 2026-12-06 (t13): round 22's scope calls under five policies (one
                          # preparation, 4-8 s of CPU, made on both workers before), and
                          # test_models_sql's classified empty warehouse (2 s, the same)
                          "round22_calls", "empty_warehouse"}


def _module_build(item: pytest.Item) -> bool:
    """Whether the test reads a provider its module builds once (a module-scoped fixture), or a
    classification its module makes once for several tests (`SHARED_CLASSIFICATIONS`)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(definition.scope == "module"
               for name in (E2E_FIXTURES | SHARED_CLASSIFICATIONS) & set(info.names_closure)
               for definition in info.name2fixturedefs.get(name, ()))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (E2E_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.nodeid.startswith(SLOW_TESTS)):
            item.add_marker(pytest.mark.slow)
        # With `-n 2 --dist loadgroup` (make test), a module's tests that share its build run
        # on one worker, which builds it once; the other tests go wherever a worker is free.
        if "shipped_calls" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(SHIPPED_GROUP))
        elif _module_build(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    _longest_first(items)


def _longest_first(items: list[pytest.Item]) -> None:
    """Order the tests as xdist hands them out: the LONGEST_FIRST units, then the other slow
    ones, then the rest, each part by its units' number of tests (the order xdist would give
    them); a group's tests stay together, in their own order."""
    def group(item: pytest.Item) -> str:
        marker = item.get_closest_marker("xdist_group")
        return marker.args[0] if marker else item.nodeid

    def rank(item: pytest.Item) -> int:
        known = [i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)]
        return known[0] if known else len(LONGEST_FIRST) + (item.get_closest_marker("slow") is None)

    ranks: dict[str, int] = {}
    first: dict[str, int] = {}
    size: dict[str, int] = {}
    for position, item in enumerate(items):
        unit = group(item)
        ranks[unit] = min(ranks.get(unit, rank(item)), rank(item))
        first.setdefault(unit, position)
        size[unit] = size.get(unit, 0) + 1
    position = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (ranks[group(item)], -size[group(item)], first[group(item)],
                                 position[id(item)]))
