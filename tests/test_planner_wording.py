"""Wordings a clinician uses that the planner reads through the vocabulary and the reference grammar.

Each case is worded apart from the paraphrase suite's templates: the fixes are for the kind of
wording, not for one phrasing.
"""

from __future__ import annotations

import pytest

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.domain import Case
from mimir.memory.dates import dates_in
from mimir.memory.resolver import resolve


@pytest.mark.parametrize(("text", "want"), [("the 21st of March 2019", "2019-03-21"), ("the 2nd of Feb. 2020", "2020-02-02"),
                                            ("3rd of October, 2017", "2017-10-03")])
def test_a_day_of_a_month_is_one_date(text: str, want: str) -> None:
    assert [str(d) for d in dates_in(f"Pick the CT done on {text}.")] == [want]


def test_a_day_of_a_month_binds_the_image_of_that_date_not_an_ordinal() -> None:
    images = [{"path": f"/i{k}.dcm", "study_date": d} for k, d in enumerate(["2019-03-02", "2019-03-21"])]
    case = Case(question="Which MRI was acquired on the 21st of March 2019?", images=images)
    assert [b.image_indices for b in resolve(case).bindings if "March" in (b.mention or "")] == [[1]]


@pytest.mark.parametrize(("text", "n", "want"), [("the left-most film", 3, 0), ("rightmost panel", 2, 1),
                                                 ("the topmost picture", 3, 0), ("img 2", 3, 1), ("im. 3", 3, 2)])
def test_places_on_the_screen_and_shorthand_nouns_name_images(text: str, n: int, want: int) -> None:
    assert opt.image_of(text, n) == want


def test_eye_shorthand_and_chat_answers() -> None:
    assert [voc.side_of(t) for t in ("RE fundus", "photo of the LE")] == ["R", "L"]
    assert [voc.answer_of(o) for o in ("Yup, it has", "Nah", "Yeah", "Nope, unchanged")] == [True, False, True, False]


@pytest.mark.parametrize("text", ["the SDH", "an acute ICH", "the IVH component"])
def test_haemorrhage_shorthand_names_the_finding(text: str) -> None:
    assert voc.values_in(text, "finding") == ["haemorrhage"]


@pytest.mark.parametrize("text", ["the measurable disease", "enhancing disease at the margin", "an HGG"])
def test_tumour_shorthand_names_the_finding(text: str) -> None:
    assert voc.values_in(text, "finding") == ["tumour"]


def test_one_predicate_over_three_coordinated_references_is_three_questions_each_with_one_reference() -> None:
    from mimir.agent.ellipsis import distribute

    parts = distribute("Is the bleed larger than on the initial CT, the second CT and the previous CT?")
    assert parts == ["Is the bleed larger than on the initial CT?", "Is the bleed larger than on the second CT?",
                     "Is the bleed larger than on the previous CT?"]


def test_only_coordinating_adverbs_glue_references_not_any_word_ending_in_ly() -> None:
    from mimir.agent.ellipsis import distribute

    assert len(distribute("Versus the first MRI, and likewise versus the prior, is the glioma bigger?")) == 2
    assert len(distribute("Versus the first MRI, and clearly versus the prior, is the glioma bigger?")) == 1


def test_a_denied_amount_names_one_image_only_among_two_images_whatever_the_options() -> None:
    from mimir.agent.intents import read_question

    stem = "On which MRI is the mass not the bigger one?"
    options = {"A": "the first MRI", "B": "the second MRI"}
    assert read_question(stem, options, n_images=2)[0].direction == "less"
    assert read_question(stem, options, n_images=3)[0].frame == "unread"


def test_a_change_of_no_stated_direction_is_a_vocabulary_value() -> None:
    from mimir.agent.intents import read_question

    assert read_question("Any change in the clot since the earlier CT?", {"A": "Yes", "B": "No"})[0].asserted == {
        "increase", "decrease"}
    assert [m.value for m in voc.find("it has not changed", "course")] == ["changed"]


def test_labels_listed_with_a_spaced_slash_are_in_image_order_but_a_fused_slash_is_one_name() -> None:
    from mimir.agent.meaning import read_option

    assert read_option("FLAIR / T1 pre", 2).pairs == ((0, "FLAIR"), (1, "T1"))
    assert read_option("T2/FLAIR", 2).labels == {"sequence": "FLAIR"}


def test_a_stability_word_before_a_change_of_direction_modifies_it() -> None:
    from mimir.agent.meaning import read_option

    assert read_option("Constant enlargement", 3).changes == {"increase"}
    assert read_option("persistent decline", 3).changes == {"decrease"}


def test_words_naming_two_courses_are_not_read_by_meaning_as_one() -> None:
    from mimir.agent.meaning import read_option

    read = read_option("Shrank at first, then unchanged", 3)
    assert read.changes == frozenset() and read.by_meaning is None


def test_numbered_answers_say_yes_or_no_per_numbered_question() -> None:
    from mimir.agent.meaning import read_option

    assert read_option("(1) no (2) yes", 3).parts == (False, True)
    assert read_option("1) yes, 2) yes", 3).parts == (True, True)


def test_a_follow_up_that_names_only_a_new_reference_repeats_the_question() -> None:
    from mimir.agent.ellipsis import complete

    assert complete("Is the haematoma larger than on the first CT?", "How about versus the directly preceding CT?") == \
        "Is the haematoma larger than on the directly preceding CT?"


def test_setting_aside_a_visit_the_question_already_leaves_out_reads_the_rest() -> None:
    from mimir.agent.intents import read_question

    stem = "Disregarding the most recent scan, did the mass grow from scan 1 to scan 2?"
    intent = read_question(stem, {"A": "Yes", "B": "No"}, 3)[0]
    assert intent.kind == "change" and intent.frame == "plain" and "Disregarding" not in intent.text
    unread = read_question("Disregarding the most recent scan, did the mass grow?", {"A": "Yes", "B": "No"}, 3)[0]
    assert unread.frame == "unread"


def test_most_recent_names_a_visit_not_an_amount() -> None:
    from mimir.agent.intents import read_question

    stem = "Baseline and most recent CT are shown. What did the bleed do?"
    assert read_question(stem, {"A": "grew", "B": "shrank", "C": "no change"}, 2)[0].kind == "change"


def test_a_yes_or_no_that_closes_a_clause_answers_that_part() -> None:
    from mimir.agent.meaning import read_option

    assert read_option("Versus the first CT no; versus the previous CT yes", 3).parts == (False, True)


def test_an_abbreviated_finding_keeps_its_case_when_asked_as_a_quantity() -> None:
    from mimir.agent.planners.quantities import asked_quantity

    quantity, direction = asked_quantity("Which of the two CTs has the larger SDH?") or ("", None)
    assert voc.values_in(quantity, "finding") == ["haemorrhage"] and direction == "more"


def test_no_difference_is_stability_and_a_graded_time_word_names_a_visit() -> None:
    from mimir.agent.intents import read_question
    from mimir.agent.meaning import read_option

    assert read_option("There is no difference", 2).changes == {"stable"}
    assert read_question("Which study is the most current?", {"A": "study 1", "B": "study 2"}, 2)[0].kind == "when"


def test_an_option_that_is_only_a_side_letter_is_that_side() -> None:
    from mimir.agent.meaning import read_options

    read = read_options({"A": "L", "B": "The right one"}, 2)
    assert read["A"].labels == {"laterality": "L"} and read["B"].labels == {"laterality": "R"}


def test_sides_written_as_letters_or_a_fused_slash_list_are_in_image_order() -> None:
    from mimir.agent.meaning import read_option

    assert read_option("R, then L", 2).pairs == ((0, "R"), (1, "L"))
    assert read_option("OS/OD", 2).pairs == ((0, "L"), (1, "R"))
    assert read_option("T2/FLAIR", 2).pairs == ()  # one name: FLAIR narrows T2


def test_whether_the_cavity_is_free_of_tumour_after_resection_asks_about_residual_tumour() -> None:
    from mimir.agent.intents import read_question

    intent = read_question("After the resection, is the bed clear, with no tumour remaining?",
                           {"A": "Yes, clear", "B": "No"}, 2)[0]
    assert intent.kind == "resection" and intent.asserted == {"gross_total"}


@pytest.mark.parametrize(("text", "role"), [("Which CT was scanned first?", "baseline"), ("the MRI imaged last", "latest"),
                                            ("the exam that came first by date", "baseline"),
                                            ("chronologically last of the studies", "latest")])
def test_a_place_in_the_list_joined_with_a_time_qualifier_is_a_place_in_time(text: str, role: str) -> None:
    assert voc.time_of(text) == role


def test_a_reviewers_qualifier_composes_with_the_time_words_and_a_bad_compose_is_refused() -> None:
    from mimir.termtable import load_table

    table = ("time:\n  baseline:\n    compose: {words: [first], with: time_qualifier}\n    terms: [baseline]\n"
             "time_qualifier:\n  qualifier:\n    terms: [photographed]\n")
    assert [m.value for m in load_table(table).raw("the eye photographed first", "time")] == ["baseline"]
    with pytest.raises(ValueError, match="unknown concept"):
        load_table("time:\n  baseline:\n    compose: {words: [first], with: nowhere}\n    terms: [baseline]\n")


@pytest.mark.parametrize("text", ["the gadolinium T1-weighted series", "T1W Gd", "the Gadovist T1", "contrast T1WI"])
def test_a_t1_word_joined_with_a_contrast_agent_is_a_post_contrast_t1(text: str) -> None:
    assert voc.sequence_of(text) == "T1C"


def test_a_dotted_numeric_date_is_written_day_first() -> None:
    assert [str(d) for d in dates_in("the CT of 4.11.2019")] == ["2019-11-04"]
    assert [str(d) for d in dates_in("the CT of 11/04/2019")] == ["2019-04-11 or 2019-11-04"]  # slashes: either order


def test_a_denied_remnant_or_a_denied_removal_says_the_extent_of_resection() -> None:
    from mimir.agent.meaning import read_option

    assert read_option("no enhancing residue at the margin", 2).changes == {"gross_total"}
    assert read_option("part of the mass was not resected", 2).changes == {"partial"}
    assert read_option("some of the glioma was left in place", 2).changes == {"partial"}


@pytest.mark.parametrize("text", ["no resection was performed", "the lesion was not resected (biopsy only)",
                                  "tumour not removed"])
def test_a_denied_operation_is_no_extent_of_resection(text: str) -> None:
    """An operation that did not happen is not a partial resection: the option reads as no extent at all."""
    from mimir.agent.meaning import read_option

    assert read_option(text, 2).changes == frozenset()


@pytest.mark.parametrize(("text", "want"), [("the second of the scans", 1), ("The last of the pictures", 2)])
def test_a_place_of_the_images_names_that_image(text: str, want: int) -> None:
    assert opt.image_of(text, 3) == want


def test_a_side_letter_before_an_eye_names_the_side_but_a_fused_side_and_view_is_not_read_as_a_side_alone() -> None:
    from mimir.agent.intents import read_question

    options = {"A": "photo 1", "B": "photo 2"}
    assert read_question("Which photo shows the R eye?", options, 2)[0].value == "R"
    assert read_question("Which is the LMLO?", options, 2)[0].attribute != "laterality"


@pytest.mark.parametrize(("text", "want"), [("they took out the whole of the glioma", "gross_total"),
                                            ("all of the mass was excised", "gross_total"),
                                            ("a portion of the neoplasm was left", "partial"),
                                            ("is it part of the report?", None)])
def test_how_much_of_the_tumour_was_removed_is_composed_from_amount_and_object(text: str, want: str | None) -> None:
    assert voc.resection_of(text) == want


def test_a_compose_order_keeps_the_words_on_one_side() -> None:
    from mimir.termtable import load_table

    table = ("resection:\n  partial:\n    compose: {words: [part of], with: obj, order: before}\n    terms: [subtotal]\n"
             "obj:\n  o:\n    terms: [it]\n")
    voc_ = load_table(table)
    assert [m.value for m in voc_.raw("part of it", "resection")] == ["partial"]
    assert voc_.raw("it part of", "resection") == []
