from opencrf.projects.naming import unique_event_name, unique_group_name


def test_event_names_follow_redcap():
    assert unique_event_name("Event 1", 1, set()) == "event_1_arm_1"
    assert unique_event_name("XYZ", 2, set()) == "xyz_arm_2"
    assert unique_event_name("Deadline to opt out of study", 2, set()) == "deadline_to_opt_ou_arm_2"


def test_bilingual_event_names_keep_their_latin_part():
    assert unique_event_name("スクリーニング / Screening", 1, set()) == "screening_arm_1"


def test_an_event_name_with_no_latin_letters_falls_back_to_event():
    assert unique_event_name("来院", 1, set()) == "event_arm_1"


def test_a_clashing_event_name_gets_a_counter_before_the_arm():
    taken = {"visit_arm_1", "visit_2_arm_1"}
    assert unique_event_name("Visit", 1, taken) == "visit_3_arm_1"


def test_group_names_follow_redcap():
    assert unique_group_name("Test DAG", set()) == "test_dag"
    assert unique_group_name("New DAG", {"new_dag"}) == "new_dag_2"
