"""Readings that hold for words the planner was never tuned on: grammar and vocabulary, not phrases.

Every wording here is our own, apart from the paraphrase suite's templates: each test checks a kind of
reading (places written as letters, a change word qualifying a change noun, an option that leaves out
the noun the question asks about, a typo one keystroke from a clinical word), not one phrasing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.agent_cases import answered, lesion_case
from fixtures.agent_tools import stand_in_registry

from mimir import vocabulary as voc
from mimir.agent import options as opt
from mimir.agent.entry import Agent
from mimir.agent.intents import read_question, split_parts
from mimir.agent.meaning import parts_by_quantifier, read_option
from mimir.agent.planners.quantities import asked_quantity
from mimir.agent.visit_words import visit_role
from mimir.domain import CaseImage
from mimir.memory.dates import dates_in
from mimir.settings import Settings
from mimir.spelling import respell

RESECTION = frozenset({"gross_total", "partial"})


def _dated(n: int) -> list[CaseImage]:
    """``n`` images three months apart from February 2019, in case order."""
    import datetime as dt

    return [CaseImage(path=f"/v{i}.png", study_date=dt.date(2019, 2 + 3 * i, 1)) for i in range(n)]


@pytest.mark.parametrize(("text", "n", "want"), [
    ("plate C", 3, 2), ("figure (b)", 2, 1), ("plate II", 3, 1), ("Panel D", 4, 3),  # letters and roman numerals
    ("frame4", 4, 3), ("img3", 3, 2), ("Scan2", 2, 1),  # a noun written together with its number
    ("3rd", 3, 2), ("1st.", 2, 0),  # an option that is only a place
    ("film 3", 3, 2), ("the second film", 2, 1),  # "film" is any image
    ("the slice third from the top", 4, 2), ("the image second from the right", 3, 1),
])
def test_places_written_as_letters_numerals_or_counted_from_an_end_name_images(text: str, n: int, want: int) -> None:
    assert opt.image_of(text, n) == want


@pytest.mark.parametrize("text", ["the scan I need", "a scan", "scan A and scan B", "the plain film"])
def test_words_that_only_look_like_places_name_no_one_image(text: str) -> None:
    assert opt.image_of(text, 3) is None


@pytest.mark.parametrize(("text", "want"), [("taken 05-Mar-2019", "2019-03-05"), ("dated 5/MAR/2019", "2019-03-05"),
                                            ("StudyDate 20190305", "2019-03-05")])
def test_dashed_and_compact_dates_are_dates(text: str, want: str) -> None:
    assert [str(d) for d in dates_in(text)] == [want]


def test_options_that_each_name_an_image_make_any_stem_ask_which_image() -> None:
    [intent] = read_question("At what visit did the mass peak in size?", {"A": "visit 1", "B": "visit 2", "C": "visit 3"})
    assert (intent.kind, intent.direction) == ("extreme", "more")


def test_amounts_said_against_another_image_are_a_change() -> None:
    options = {"A": "a larger amount of", "B": "a smaller amount of", "C": "an equal amount of"}
    [intent] = read_question("Set against scan 1, scan 2 shows ___ oedema.", options)
    assert intent.kind == "change"
    assert [read_option(o, 2, comparative_is_change=True).changes for o in options.values()] == [
        {"increase"}, {"decrease"}, {"stable"}]


@pytest.mark.parametrize("text", ["no appreciable interval difference", "not different from before", "no discernible trend"])
def test_a_denied_difference_or_trend_is_stability(text: str) -> None:
    assert read_option(text, 2).changes == {"stable"}


@pytest.mark.parametrize(("text", "want"), [("progressive shrinkage", "decrease"), ("steadily worsening growth", "increase"),
                                            ("regressing, then growing", None)])
def test_a_change_word_before_a_change_noun_qualifies_it(text: str, want: str | None) -> None:
    changes = read_option(text, 2).changes
    assert changes == ({want} if want else set())


@pytest.mark.parametrize(("text", "want"), [("Total", "gross_total"), ("Radical", "gross_total"), ("Not complete", "partial"),
                                            ("Near-complete", "partial"), ("Probably subtotal", "partial")])
def test_a_short_option_completes_with_the_noun_the_question_asks_about(text: str, want: str) -> None:
    assert read_option(text, 2, allowed=RESECTION, topic="resection").changes == {want}
    assert not read_option(text, 2).changes & RESECTION or want == "partial"  # no topic: "Total" alone is no resection


@pytest.mark.parametrize(("text", "want"), [("complete excision", "gross_total"), ("every bit of the tumour removed", "gross_total"),
                                            ("nearly complete removal", "partial")])
def test_resection_extents_compose_from_an_amount_and_a_removal(text: str, want: str) -> None:
    assert voc.resection_of(text) == want


def test_surgery_with_extent_options_asks_for_the_extent() -> None:
    [intent] = read_question("How thorough was the operation?", {"A": "radical removal", "B": "subtotal"})
    assert intent.kind == "resection"


def test_an_answer_word_turns_a_quantifier() -> None:
    parts = ["Has it grown since the first visit", "has it grown since the previous visit?"]
    assert [parts_by_quantifier(o, parts) for o in ("No to both", "Yes, for both", "Neither")] == [
        (False, False), (True, True), (False, False)]


@pytest.mark.parametrize(("stem", "role"), [
    ("Which exam precedes all the others?", "baseline"), ("Which exam came after all the rest?", "latest"),
    ("Which acquisition happened most early?", "baseline"), ("Which study is the most up to date?", "latest"),
    ("Before the next follow-up, show me the baseline exam: which is it?", "baseline"),
])
def test_visits_named_relative_to_all_others_or_graded(stem: str, role: str) -> None:
    [intent] = read_question(stem, {"A": "exam 1", "B": "exam 2", "C": "exam 3"})
    assert intent.kind == "when" and visit_role(stem) == role


def test_a_degree_word_before_a_time_word_asks_for_a_visit_not_a_quantity() -> None:
    assert asked_quantity("Which study has the most recent acquisition date?") is None
    assert asked_quantity("Which image has the largest file size?") == ("file size", "more")


def test_a_label_denied_before_a_dash_asks_for_the_other_image() -> None:
    [intent] = read_question("The T2 one is wrong - select the remaining image", {"A": "image 1", "B": "image 2"})
    assert (intent.kind, intent.negated, intent.value) == ("identify", True, "T2")


@pytest.mark.parametrize(("stem", "asserted"), [("Is the haematoma the same size as on the earlier CT?", {"stable"}),
                                                ("Is there less oedema than before?", {"decrease"})])
def test_a_comparative_yes_no_question_asserts_a_change(stem: str, asserted: set[str]) -> None:
    [intent] = read_question(stem, {"A": "yes", "B": "no"})
    assert intent.kind == "change" and intent.asserted == asserted


def test_when_options_are_changes_a_time_word_is_context_not_the_question() -> None:
    options = {"A": "It reads larger than before.", "B": "It reads smaller than before.", "C": "It reads the same as before."}
    [intent] = read_question("Which statement describes the latest scan?", options)
    assert intent.kind == "change"


def test_one_image_label_option_fits_when_that_image_has_the_label() -> None:
    read = read_option("Right eye shown second", 2)
    assert read.pairs == ((1, "R"),) and read.images == (1,)


@pytest.mark.parametrize(("text", "concept", "want"), [
    ("T1-w w/ gado", "sequence", "T1C"), ("T1 w/o Gd", "sequence", "T1"), ("T2 with CSF suppression", "sequence", "FLAIR"),
    ("fluid-nulled T2", "sequence", "FLAIR"), ("T1 + CM", "sequence", "T1C"), ("the O.S. photo", "laterality", "L"),
    ("a CFP", "modality", "OP"),
])
def test_shorthand_for_sequences_sides_and_photographs(text: str, concept: str, want: str) -> None:
    assert voc.values_in(text, concept) == [want]


def test_dotted_abbreviations_keep_their_case_rule() -> None:
    assert voc.side_of("Is it o.d.?") is None and voc.side_of("Is it O.D.?") == "R"


@pytest.mark.parametrize(("text", "want"), [("Is the hematoma stabel?", "Is the hematoma stable?"),
                                            ("Has the lesoin enlargd?", "Has the lesion enlarged?")])
def test_a_typo_one_keystroke_from_a_clinical_word_is_read_as_it(text: str, want: str) -> None:
    assert respell(text)[0] == want


@pytest.mark.parametrize("text", ["Is the tumour stale?", "Which letter?", "The TIRM image", "Is the lesion lager?"])
def test_english_words_capitals_and_ambiguous_typos_are_left_as_written(text: str) -> None:
    assert respell(text) == (text, [])


@pytest.mark.parametrize(("radii", "letter"), [([9, 14], "A"), ([14, 9], "B")])
def test_a_mistyped_yes_no_question_is_answered_and_says_how_it_was_read(settings: Settings, tmp_path: Path,
                                                                         radii: list[float], letter: str) -> None:
    q = "Has the lesoin grwon since the first scan?\nA: Yes it has\nB: No it has not"
    _assert_answered_saying(settings, tmp_path, radii, q, letter, "'grwon' as 'grown'")


def test_one_label_said_twice_in_other_words_is_that_label_not_an_assignment() -> None:
    read = read_option("Right, O.D.", 2)
    assert read.pairs == () and read.labels == {"laterality": "R"}
    assert read_option("O.D., then O.S.", 2).pairs == ((0, "R"), (1, "L"))


def test_the_numero_sign_is_no_answer_and_a_numbered_image_is_a_place() -> None:
    assert voc.answer_of("No. 2") is None and voc.answer_of("No, it did not") is False
    assert opt.image_of("the image numbered 2", 3) == 1


@pytest.mark.parametrize(("text", "want"), [("PIC-2", 1), ("frame-3", 2), ("Nr. 3", 2), ("#1", 0)])
def test_a_noun_hyphenated_to_its_number_or_a_numbered_option_names_that_image(text: str, want: int) -> None:
    assert opt.image_of(text, 3) == want


@pytest.mark.parametrize("text", ["no 2 lesions", "3", "images 1-3"])
def test_bare_numbers_and_ranges_name_no_one_image(text: str) -> None:
    assert opt.image_of(text, 3) is None


@pytest.mark.parametrize("stem", ["Is the haematoma denser on the later CT?", "Is the mass more prominent than before?"])
def test_a_comparative_of_appearance_asserts_no_size_change(stem: str) -> None:
    [intent] = read_question(stem, {"A": "yes", "B": "no"})
    assert not intent.asserted


@pytest.mark.parametrize("cue", ["anything but", "everything but", "instead of", "in place of", "different from",
                                 "distinct from"])
def test_a_label_set_apart_by_an_exclusion_cue_asks_for_the_other_image(settings: Settings, tmp_path: Path,
                                                                        cue: str) -> None:
    """"anything but the FLAIR" asks for the image that is not the FLAIR; read as "the FLAIR" it would be
    a confident wrong answer. The cue reaches the planner's decision through the one negation table."""
    q = f"You want the sequence {cue} the FLAIR: which picture is it?\nA: picture 1\nB: picture 2"
    answer = answered(settings, tmp_path, [8, 8], q, sequences=["T1", "FLAIR"])
    assert answer.letter == "A", (answer.letter, answer.abstain_reason)
    plain = "You want the FLAIR sequence: which picture is it?\nA: picture 1\nB: picture 2"
    assert Agent(settings, registry=stand_in_registry()).answer(
        lesion_case(tmp_path, [8, 8], plain, sequences=["T1", "FLAIR"])).letter == "B"


@pytest.mark.parametrize("text", ["the frame in a different MR weighting from the FLAIR", "some other pulse sequence than the FLAIR",
                                  "any acquisition but the FLAIR", "whichever tile differs in contrast from the FLAIR"])
def test_a_cue_split_by_a_noun_phrase_still_negates_what_follows(text: str) -> None:
    assert [m.negated for m in voc.find(text, "sequence")] == [True]


@pytest.mark.parametrize("text", ["a different frame, and the FLAIR", "different scanner field strength vendor protocol from the FLAIR",
                                  "a different frame. The FLAIR"])
def test_a_gap_is_a_short_noun_phrase_never_a_clause_break_or_punctuation(text: str) -> None:
    assert [m.negated for m in voc.find(text, "sequence")] == [False]


def test_a_comparison_cue_split_by_a_noun_phrase_still_names_the_reference() -> None:
    assert [m.text for m in voc.find("Is it bigger on frame 3 compared in volume with frame 1?", "reference_cue")] == [
        "compared in volume with"]


@pytest.mark.parametrize("stem", ["Choose a different acquisition type from the FLAIR; which frame is that?",
                                  "Which frame shows some other pulse sequence than the FLAIR?"])
def test_a_label_set_apart_by_a_gapped_cue_asks_for_the_other_image(settings: Settings, tmp_path: Path, stem: str) -> None:
    """Read as "the FLAIR" these would be confident wrong answers; the gapped cue reaches the planner's decision."""
    _assert_the_t1_frame_is_chosen(settings, tmp_path, stem)


def test_a_reference_to_an_image_named_nowhere_abstains_rather_than_binding_a_default(settings: Settings,
                                                                                        tmp_path: Path) -> None:
    q = "Has the lesion got bigger on the frame after it?\nA: Yes\nB: No"
    answer = answered(settings, tmp_path, [6, 12, 4], q)
    assert answer.letter is None and "names no image" in (answer.abstain_reason or ""), answer.abstain_reason


def test_a_pronoun_after_a_relation_word_stands_for_the_image_named_before_it(settings: Settings, tmp_path: Path) -> None:
    """Frame 2 against frame 1 grew; the current frame 3 against frame 1 shrank: only the antecedent gives 'yes'."""
    q = "Starting from the first frame, has the lesion got bigger on the frame after it?\nA: Yes\nB: No"
    answer = answered(settings, tmp_path, [6, 12, 4], q)
    assert answer.letter == "A", (answer.letter, answer.abstain_reason)


def test_a_pronoun_takes_an_ambiguous_antecedent_with_its_readings_and_this_one_is_no_pronoun() -> None:
    from mimir.domain import CaseImage
    from mimir.memory.resolver import resolve_text

    images = [CaseImage(path=f"/undated{i}.png") for i in range(3)]  # no dates: "the newest frame" is ambiguous
    newest, before = resolve_text("How does the newest frame compare with the frame preceding that one?", images)
    assert newest.ambiguous and before.ambiguous and not before.unbound
    assert before.candidates == [[c[0] - 1] for c in newest.candidates if c[0] > 0]
    assert not any(h.unbound for h in resolve_text("Is it bigger than on the frame before this one?", images))
    assert [h.unbound for h in resolve_text("the frame preceding that one", images)] == [True]


@pytest.mark.parametrize(("text", "want"), [("the second grainy frame", 1), ("the last noisy acquisition", 2),
                                            ("the penultimate blurry image", 1), ("the 1st washed-out snapshot", None)])
def test_one_unknown_word_before_the_head_does_not_sink_a_reference(text: str, want: int | None) -> None:
    """One adjective the vocabulary lacks is passed over; a hyphenated pair is two words, and two are too many."""
    assert opt.image_of(text, 3) == want


@pytest.mark.parametrize("text", ["the grainy frame", "the first shows frames", "the first grainy noisy frame"])
def test_an_unknown_word_joins_no_reference_without_a_place_before_it_or_a_head_right_after(text: str) -> None:
    assert opt.image_of(text, 3) is None


@pytest.mark.parametrize(("radii", "letter"), [([12, 6], "A"), ([6, 12], "B")])
def test_one_unknown_verb_of_a_yes_no_change_question_is_read_by_meaning(settings: Settings, tmp_path: Path,
                                                                         radii: list[float], letter: str) -> None:
    q = "Did the lesion recede relative to the first frame?\nA: Yes\nB: No"
    _assert_answered_saying(settings, tmp_path, radii, q, letter, "'recede' read by meaning as decrease")


def _assert_answered_saying(settings: Settings, tmp_path: Path, radii: list[float], q: str, letter: str, said: str) -> None:
    """``q`` over lesions of ``radii`` is answered ``letter``, and its evidence says how it was read (``said``)."""
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason
    assert any(said in e.statement for e in answer.evidence)


@pytest.mark.parametrize("stem", ["Did the lesion dwindle relative to the first frame?",  # no category stands out
                                  "Honestly, did the lesion recede relative to the first frame?",  # two unknown words
                                  "Did the lesion not recede relative to the first frame?"])  # a negation
def test_an_unknown_verb_without_a_clear_reading_leaves_the_question_unread(stem: str) -> None:
    [intent] = read_question(stem, {"A": "Yes", "B": "No"})
    assert intent.kind == "visual"


@pytest.mark.parametrize(("stem", "asserted"), [
    ("Could progression of the nodule be ruled out on the latest frame?", {"decrease", "stable"}),  # a copula makes it the predicate
    ("Is it ruled out that the glioma stayed the same size over the interval?", {"increase", "decrease"}),  # the whole that-clause
    ("Is the mass larger, with oedema ruled out?", {"increase"}),  # another clause: the cue denies nothing of the change
])
def test_a_postposed_cue_as_predicate_denies_the_clause_subject_and_one_before_that_the_whole_clause(
        stem: str, asserted: set[str]) -> None:
    [intent] = read_question(stem, {"A": "Yes", "B": "No"})
    assert intent.kind == "change" and intent.asserted == asserted


def test_residual_tumour_that_a_question_asks_to_rule_out_asserts_a_complete_resection() -> None:
    [intent] = read_question("After the operation, could leftover tumour be ruled out on the last frame?", {"A": "Yes", "B": "No"})
    assert intent.kind == "resection" and intent.asserted == {"gross_total"}


@pytest.mark.parametrize("stem", ["With the FLAIR put aside, which frame do we have?", "Apart from the FLAIR, which frame do we have?",
                                  "The FLAIR excepted, which frame do we have?"])
def test_a_label_set_aside_before_or_after_its_verb_asks_for_the_other_image(settings: Settings, tmp_path: Path, stem: str) -> None:
    q = f"{stem}\nA: frame 1\nB: frame 2"
    answer = answered(settings, tmp_path, [8, 8], q, sequences=["T1", "FLAIR"])
    assert answer.letter == "A", (answer.letter, answer.abstain_reason)


@pytest.mark.parametrize(("text", "want"), [("upload 2", 1), ("the frame tagged 3", 2), ("Attachment #1", 0)])
def test_attachments_and_uploads_are_images_and_a_tag_word_before_a_number_is_filler(text: str, want: int) -> None:
    assert opt.image_of(text, 3) == want


@pytest.mark.parametrize(("text", "want"), [("I concur", True), ("Agreed.", True), ("Disagree", False), ("I don't agree", False)])
def test_agreement_answers_an_impression_put_to_the_reader(text: str, want: bool) -> None:
    assert voc.answer_of(text) is want


@pytest.mark.parametrize(("text", "want"), [("no volume change", "stable"), ("no real burden change", "stable"),
                                            ("up in volume", "increase"), ("lower in burden", "decrease")])
def test_change_words_composed_around_a_size_noun(text: str, want: str) -> None:
    assert voc.change_of(text) == want


def test_a_question_offering_alternatives_is_one_question() -> None:
    stem = "Was the mass excised in full, or did some of it remain?"
    assert split_parts(stem) == [stem]
    assert len(split_parts("Which frame is the right eye, and does it show drusen?")) == 2


@pytest.mark.parametrize(("text", "want"), [("a non-FLAIR T2 image", "T2"), ("T1-weighted, w/ Gd", "T1C"), ("T1 w/o gado", "T1")])
def test_a_non_prefix_denies_a_label_and_a_label_restated_after_a_comma_is_one_label(text: str, want: str) -> None:
    assert read_option(text, 2).labels == {"sequence": want}


def test_a_verb_of_fetching_an_image_asks_which_image() -> None:
    [intent] = read_question("Bring up the frame from 3 May 2019.", {"A": "frame 1", "B": "frame 2"})
    assert intent.kind == "when"


def test_a_numbered_follow_up_counts_the_visits_after_the_first() -> None:
    from mimir.memory.resolver import resolve_text

    dated = _dated(3)
    hits = resolve_text("Is control f/u 2 worse than f/u 1?", dated)
    assert [(h.text, h.indices) for h in hits] == [("f/u 2", [2]), ("f/u 1", [1])]
    assert resolve_text("follow-up 3", dated)[0].indices == []  # only two visits follow the first


@pytest.mark.parametrize(("text", "want"), [
    ("the first follow-up and the second follow-up", [[1], [2]]),  # an ordinal counts visits after the first
    ("the 2nd f/u", [[2]]), ("control #1", [[1]]), ("the first control, the second control", [[1], [2]]),
    ("the third follow-up scan", [[]]),  # only two visits follow the first
    ("the first scan", [[0]]), ("the last follow-up", [[2]]),  # no count: a place in the list, the newest
    ("Is there tumour control?", []), ("the control scan", [[2]]),  # "control" alone is no visit
])
def test_an_ordinal_before_a_follow_up_word_counts_the_visits_after_the_first(text: str, want: list[list[int]]) -> None:
    from mimir.memory.resolver import resolve_text

    dated = _dated(3)
    assert [h.indices for h in resolve_text(text, dated)] == want


@pytest.mark.parametrize(("text", "want"), [
    ("from the first to the last study", [[0, 1, 2, 3]]), ("the second through the third", [[1, 2]]),
    ("from the first study to the last study", [[0], [3]]),  # "the last study" ends the range: the final image
    ("Has it grown since the last study?", [[2]]),  # after "since" it is the visit before the latest
    ("the scan prior to surgery", []),  # "prior to" is a preposition
])
def test_a_range_of_places_spans_the_images_between_them(text: str, want: list[list[int]]) -> None:
    from mimir.memory.resolver import resolve_text

    dated = _dated(4)
    assert [h.indices for h in resolve_text(text, dated)] == want


@pytest.mark.parametrize(("text", "want"), [("shrinks progressively", {"decrease"}), ("grows progressively", {"increase"}),
                                            ("progressive disease", {"increase"}), ("it has progressed", {"increase"})])
def test_progressively_says_how_a_change_goes_not_which(text: str, want: set[str]) -> None:
    from mimir.agent.meaning import option_changes

    assert option_changes(text) == want


@pytest.mark.parametrize("text", ["the scan taken last May 1st 2019", "the one done this past 1 May 2019",
                                  "the study from last 2019-05-01"])
def test_last_right_before_a_date_places_the_date_not_the_newest_image(text: str) -> None:
    from mimir.memory.resolver import resolve_text

    dated = _dated(3)
    assert [h.indices for h in resolve_text(text, dated)] == [[1]]  # May, not the newest (August)


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "A"), ([12, 6], "B")])
def test_a_time_term_ending_in_an_image_noun_is_a_phrase_of_its_own(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    """"his last visit and the second one" are two phrases, not the list "last, second"."""
    q = ("My mother's scans: the first image is from her last visit and the second one is from today. How has the "
         "mass changed?\nA: It is bigger today\nB: It is smaller today\nC: About the same")
    assert answered(settings, tmp_path, radii, q).letter == letter


@pytest.mark.parametrize(("radii", "letter"), [([6, 6, 12], "A"), ([6, 12, 12], "B")])
def test_the_question_sentence_decides_what_is_compared_when_a_premise_lists_the_images(
        settings: Settings, tmp_path: Path, radii: list[float], letter: str) -> None:
    """The legend names all three frames; comparing them all (or the first with the last) would answer 'larger' both times."""
    q = "Frames: first, f/u 1, f/u 2. F/u 2 against f/u 1: how did the lesion do?\nA: Larger\nB: Same size\nC: Smaller"
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


@pytest.mark.parametrize(("radii", "letter"), [([6, 12], "A"), ([12, 6], "C"), ([9, 9], "B")])
def test_options_that_all_set_a_change_against_one_named_image_are_changes(settings: Settings, tmp_path: Path,
                                                                           radii: list[float], letter: str) -> None:
    q = ("Frame 2 held up against frame 1: how did the lesion do?\n"
         "A: Bigger than frame 1\nB: Steady against frame 1\nC: Smaller than frame 1")
    answer = answered(settings, tmp_path, radii, q)
    assert answer.letter == letter, answer.abstain_reason


def test_list_markers_coordinate_the_references_of_one_question() -> None:
    parts = read_question("Has the nodule enlarged on the last frame (i) since the first frame and (ii) since the middle frame?",
                          {"A": "Yes/no", "B": "No/yes", "C": "Yes/yes", "D": "No/no"}, 3)
    assert [p.kind for p in parts] == ["change", "change"]
    assert read_option("No/yes", 3).parts == (False, True)
    assert parts_by_quantifier("Both: no", [p.text for p in parts]) == (False, False)


@pytest.mark.parametrize(("text", "pairs"), [("FLAIR first, after contrast T1 second", ((0, "FLAIR"), (1, "T1C"))),
                                             ("T1, with gadolinium", ())])
def test_a_qualifying_phrase_after_a_comma_joins_its_label_unless_it_names_a_place(text: str, pairs: tuple[object, ...]) -> None:
    assert read_option(text, 2).pairs == pairs


@pytest.mark.parametrize("stem", ["Which frame is not the same weighting as the FLAIR?",
                                  "Which frame isn't of the same kind of sequence as the FLAIR?"])
def test_a_verb_negation_denies_its_whole_predicate(settings: Settings, tmp_path: Path, stem: str) -> None:
    """Five words stand between 'not' and 'FLAIR'; read as 'the FLAIR' the answer would be confidently wrong."""
    _assert_the_t1_frame_is_chosen(settings, tmp_path, stem)


def _assert_the_t1_frame_is_chosen(settings: Settings, tmp_path: Path, stem: str) -> None:
    """Asked of frame 1 (T1) and frame 2 (FLAIR), ``stem`` must pick frame 1: the one that is not the FLAIR."""
    q = f"{stem}\nA: frame 1\nB: frame 2"
    answer = answered(settings, tmp_path, [8, 8], q, sequences=["T1", "FLAIR"])
    assert answer.letter == "A", (answer.letter, answer.abstain_reason)


def test_a_number_inside_a_date_is_not_an_option_naming_that_image() -> None:
    from mimir.agent.planners.frame import says

    assert not says("Bring up the frame from 21-March-2021.", "1") and not says("taken 2021.01.02", "2")
    assert says("Is frame 1 the earliest?", "frame 1") and says("Is #1 the earliest?", "1")


@pytest.mark.parametrize(("stem", "side"), [("The L fundus was imaged on which frame?", "L"), ("The R retina: which frame?", "R")])
def test_a_side_letter_before_a_sided_part_that_is_also_a_modality_word_is_a_side(stem: str, side: str) -> None:
    [intent] = read_question(stem, {"A": "#1", "B": "#2"}, 2)
    assert (intent.kind, intent.value) == ("identify", side)
