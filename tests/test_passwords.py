"""app.passwords: hashing, the policy rules shown next to the field (CORE-6),
the core's floor (SAFE-3), secret answers (SAFE-2) and temporary passwords (SAFE-1)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import argon2
import flask
import pytest
from flask_babel import Babel
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app import passwords
from app.extensions import db
from app.models import Account, PasswordHistory
from app.passwords import (
    Rule,
    context_words_for,
    effective_policy,
    evaluate,
    generate_temporary_password,
    hash_answer,
    hash_password,
    needs_rehash,
    normalise_answer,
    previous_hashes_for,
    problems,
    rules_for,
    set_password,
    verify_answer,
    verify_password,
)
from app.plugins.types import PasswordPolicy, Space

#: the three seed policies the brief names
CNSS_LIKE = PasswordPolicy(min_length=6, max_length=8)
CMIM_LIKE = PasswordPolicy(min_length=8, max_length=12, min_digits=2)
CIMR_LIKE = PasswordPolicy(
    min_length=5, max_length=10, allowed="[A-Za-z0-9]", allowed_label="Lettres et chiffres uniquement"
)

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


def make_space(policy: PasswordPolicy = PasswordPolicy(), **changes: object) -> Space:
    """A space of insurer « x », code « y », with ``policy``."""
    fields: dict[str, object] = dict(
        insurer="x", code="y", title="Espace test", insurer_name="Assurance Exemple", identifier_fields=()
    )
    fields.update(changes)
    return Space(password_policy=policy, **fields)  # type: ignore[arg-type]


def codes(rules: list[Rule]) -> list[str]:
    return [rule.code for rule in rules]


def outcome(rules: list[Rule], code: str) -> bool | None:
    """The ``ok`` of the rule named ``code``."""
    return next(rule.ok for rule in rules if rule.code == code)


@pytest.fixture
def bare_app() -> Iterator[flask.Flask]:
    """A minimal Flask app with the database only (not the portal factory)."""
    app = flask.Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PASSWORD_TIGHTEN={})
    db.init_app(app)
    Babel(app)
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()


@pytest.fixture
def account(bare_app: flask.Flask) -> Account:
    """A stored account with a first password « Premier42x »."""
    acc = Account(space_key="x/y", login="1001", tenant_ref="1001", password_hash=hash_password("Premier42x"))
    db.session.add(acc)
    db.session.flush()
    return acc


# --------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------


def test_hash_is_argon2id_and_verifies() -> None:
    stored = hash_password("Mot2passeSur")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "Mot2passeSur")


def test_two_hashes_of_the_same_password_differ_by_their_salt() -> None:
    assert hash_password("Mot2passeSur") != hash_password("Mot2passeSur")


def test_verify_refuses_a_wrong_password() -> None:
    assert not verify_password(hash_password("Mot2passeSur"), "mot2passesur")


@pytest.mark.parametrize("stored", [None, "", "garbage", "$argon2id$v=19$m=1,t=1,p=1$bad$bad", "pbkdf2:sha256:1$a$b"])
def test_verify_password_of_missing_or_garbage_hash_is_false(stored: str | None) -> None:
    assert verify_password(stored, "garbage") is False


def test_needs_rehash_for_hash_made_with_other_parameters() -> None:
    weaker = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash("Mot2passeSur")
    assert needs_rehash(weaker)
    assert verify_password(weaker, "Mot2passeSur")  # still accepted until replaced


def test_current_hash_needs_no_rehash() -> None:
    assert not needs_rehash(hash_password("Mot2passeSur"))


# --------------------------------------------------------------------------
# Tightening by configuration
# --------------------------------------------------------------------------


def test_tightening_by_config_raises_min_length(bare_app: flask.Flask) -> None:
    bare_app.config["PASSWORD_TIGHTEN"] = {"x/y": {"min_length": 12, "min_digits": 2}}
    policy = effective_policy(make_space(PasswordPolicy(min_length=8)))
    assert (policy.min_length, policy.min_digits) == (12, 2)


def test_tightening_by_config_cannot_lower_min_length(bare_app: flask.Flask) -> None:
    bare_app.config["PASSWORD_TIGHTEN"] = {"x/y": {"min_length": 3, "min_digits": 0}}
    policy = effective_policy(make_space(PasswordPolicy(min_length=8, max_length=64, min_digits=2)))
    assert (policy.min_length, policy.min_digits) == (8, 2)


def test_configuration_can_lift_a_seeds_short_maximum_length_but_not_shorten_it(bare_app: flask.Flask) -> None:
    bare_app.config["PASSWORD_TIGHTEN"] = {"x/y": {"max_length": 64}}
    assert effective_policy(make_space(PasswordPolicy(min_length=6, max_length=8))).max_length == 64
    bare_app.config["PASSWORD_TIGHTEN"] = {"x/y": {"max_length": 4}}
    assert effective_policy(make_space(PasswordPolicy(min_length=6, max_length=8))).max_length == 8


def test_tightening_config_given_as_json_text_from_environment(bare_app: flask.Flask) -> None:
    bare_app.config["PASSWORD_TIGHTEN"] = '{"x/y": {"min_length": 10}}'
    assert effective_policy(make_space(PasswordPolicy(min_length=8))).min_length == 10


def test_tightening_of_another_space_leaves_the_policy_alone(bare_app: flask.Flask) -> None:
    bare_app.config["PASSWORD_TIGHTEN"] = {"z/w": {"min_length": 20}}
    policy = PasswordPolicy(min_length=8)
    assert effective_policy(make_space(policy)) == policy


# --------------------------------------------------------------------------
# Rules shown next to the field
# --------------------------------------------------------------------------


def test_rules_are_not_evaluated_before_typing() -> None:
    assert all(rule.ok is None for rule in rules_for(CMIM_LIKE))


def test_rules_of_a_range_say_entre() -> None:
    assert rules_for(CNSS_LIKE)[0] == Rule("length", "Entre 6 et 8 caractères", None)


def test_rules_of_equal_bounds_say_exactement() -> None:
    assert rules_for(PasswordPolicy(min_length=8, max_length=8))[0].text == "Exactement 8 caractères"


def test_rules_say_how_many_digits() -> None:
    rule = next(r for r in rules_for(CMIM_LIKE) if r.code == "digits")
    assert rule.text == "Au moins 2 chiffres"


def test_no_digits_rule_when_none_required() -> None:
    assert "digits" not in codes(rules_for(CNSS_LIKE))


def test_no_previous_rule_without_history() -> None:
    assert "previous" not in codes(rules_for(PasswordPolicy(history=0)))
    assert "previous" in codes(rules_for(PasswordPolicy(history=1)))


def test_common_and_context_rules_always_apply() -> None:
    bare = PasswordPolicy(min_length=1, max_length=64, history=0)
    assert codes(rules_for(bare)) == ["length", "common", "context"]


def test_allowed_rule_uses_the_policy_label() -> None:
    rule = next(r for r in rules_for(CIMR_LIKE) if r.code == "allowed")
    assert rule.text == "Lettres et chiffres uniquement"


def test_evaluate_keeps_the_order_and_texts_of_rules_for() -> None:
    assert [(r.code, r.text) for r in evaluate(CMIM_LIKE, "x")] == [(r.code, r.text) for r in rules_for(CMIM_LIKE)]


def test_evaluate_on_nothing_typed_fails_length() -> None:
    for policy in (CNSS_LIKE, CMIM_LIKE, CIMR_LIKE):
        assert outcome(evaluate(policy, ""), "length") is False


# --------------------------------------------------------------------------
# Length, digits, letters, allowed characters
# --------------------------------------------------------------------------


def test_policy_of_six_to_eight_characters_refuses_nine() -> None:
    assert outcome(evaluate(CNSS_LIKE, "Kq7wZp3rT"), "length") is False


def test_policy_of_six_to_eight_characters_refuses_five() -> None:
    assert outcome(evaluate(CNSS_LIKE, "Kq7wZ"), "length") is False


@pytest.mark.parametrize("password", ["Kq7wZp", "Kq7wZp3r"])
def test_policy_of_six_to_eight_characters_accepts_six_and_eight(password: str) -> None:
    assert problems(CNSS_LIKE, password) == []


def test_two_digits_required_refuses_one() -> None:
    assert problems(CMIM_LIKE, "Kqhwzprt7") == ["Au moins 2 chiffres"]


def test_two_digits_required_accepts_two() -> None:
    assert problems(CMIM_LIKE, "Kqhwzp7t4") == []


def test_letters_required_refuses_digits_only() -> None:
    policy = PasswordPolicy(min_length=6, max_length=12, min_letters=2)
    assert outcome(evaluate(policy, "73950284"), "letters") is False
    assert outcome(evaluate(policy, "7395é2a4"), "letters") is True


def test_alphanumeric_policy_refuses_a_symbol() -> None:
    assert problems(CIMR_LIKE, "Kq7w!Zp") == ["Lettres et chiffres uniquement"]


def test_alphanumeric_policy_refuses_an_accent() -> None:
    assert outcome(evaluate(CIMR_LIKE, "Kq7wéZp"), "allowed") is False


def test_problems_lists_only_failed_rules() -> None:
    assert problems(CMIM_LIKE, "azerty") == [
        "Entre 8 et 12 caractères",
        "Au moins 2 chiffres",
        "Pas un mot de passe courant",
    ]


@st.composite
def conforming(draw: st.DrawFn) -> tuple[PasswordPolicy, str]:
    """A policy with a letters-and-digits class, and a password of that class,
    of a length in range and with enough digits."""
    min_length = draw(st.integers(4, 20))
    max_length = draw(st.integers(min_length, 40))
    min_digits = draw(st.integers(0, min_length))
    policy = PasswordPolicy(min_length=min_length, max_length=max_length, min_digits=min_digits,
                            allowed="[A-Za-z0-9]")
    length = draw(st.integers(min_length, max_length))
    chars = draw(st.lists(st.sampled_from(DIGITS), min_size=min_digits, max_size=min_digits))
    chars += draw(st.lists(st.sampled_from(LETTERS + DIGITS), min_size=length - min_digits,
                           max_size=length - min_digits))
    return policy, "".join(draw(st.permutations(chars)))


@given(conforming())
def test_any_conforming_password_passes_length_digits_and_allowed(case: tuple[PasswordPolicy, str]) -> None:
    policy, password = case
    assume(not passwords._is_common(password))
    failed = {rule.code for rule in evaluate(policy, password) if not rule.ok}
    assert not failed & {"length", "digits", "allowed"}
    assert problems(policy, password) == []


@given(st.text(alphabet=LETTERS + DIGITS, min_size=9, max_size=30))
def test_anything_longer_than_eight_fails_length_of_six_to_eight(password: str) -> None:
    assert outcome(evaluate(CNSS_LIKE, password), "length") is False


# --------------------------------------------------------------------------
# The core's floor: common passwords and context words
# --------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["azerty123", "password1", "AZERTY123", "Password1"])
def test_common_password_refused(password: str) -> None:
    assert outcome(evaluate(CMIM_LIKE, password), "common") is False


def test_common_word_followed_by_digits_refused() -> None:
    assert "soleil20252026" not in passwords._common_passwords()
    assert outcome(evaluate(CMIM_LIKE, "soleil20252026"), "common") is False


def test_short_common_stem_followed_by_digits_is_not_refused_for_it() -> None:
    # « abc » is common but too short a stem to refuse what follows it
    assert "abc" in passwords._common_passwords() and "abc94170" not in passwords._common_passwords()
    assert outcome(evaluate(CMIM_LIKE, "abc94170"), "common") is True


def test_uncommon_password_passes_common_rule() -> None:
    assert outcome(evaluate(CMIM_LIKE, "Vn4tQz8kWp"), "common") is True


def test_password_containing_the_login_refused() -> None:
    rules = evaluate(CMIM_LIKE, "ab123456789", context_words=["123456789"])
    assert outcome(rules, "context") is False
    assert "Ne contient ni votre identifiant ni le nom de l'organisme" in problems(
        CMIM_LIKE, "ab123456789", context_words=["123456789"]
    )


def test_password_containing_the_insurer_name_refused_whatever_the_case() -> None:
    assert outcome(evaluate(CMIM_LIKE, "EXEMPLE2024", context_words=["exemple"]), "context") is False


def test_password_containing_an_accented_word_without_accents_refused() -> None:
    assert outcome(evaluate(CMIM_LIKE, "securite42", context_words=["Sécurité"]), "context") is False
    assert outcome(evaluate(CMIM_LIKE, "sécurité42", context_words=["securite"]), "context") is False


@pytest.mark.parametrize("spelling", ["19850302", "02031985", "020385"])
def test_password_containing_a_birth_date_as_digits_refused(spelling: str) -> None:
    rules = evaluate(CMIM_LIKE, f"Kw{spelling}", context_words=["1985-03-02"])
    assert outcome(rules, "context") is False


def test_birth_date_written_day_first_is_recognised() -> None:
    assert outcome(evaluate(CMIM_LIKE, "Kw19850302", context_words=["2/3/1985"]), "context") is False


def test_context_words_under_four_characters_are_ignored() -> None:
    assert outcome(evaluate(CMIM_LIKE, "Vn4abcz8kWp", context_words=["abc", " ab "]), "context") is True


def test_password_differing_from_context_passes() -> None:
    assert outcome(evaluate(CMIM_LIKE, "Vn4tQz8kWp", context_words=["123456789", "exemple"]), "context") is True


# --------------------------------------------------------------------------
# Previous passwords
# --------------------------------------------------------------------------


def test_previous_password_refused() -> None:
    previous = [hash_password("Ancien42xy")]
    assert problems(CMIM_LIKE, "Ancien42xy", previous_hashes=previous) == ["Différent de l'ancien mot de passe"]


def test_new_password_differing_from_previous_ones_passes() -> None:
    previous = [hash_password("Ancien42xy"), "garbage"]
    assert outcome(evaluate(CMIM_LIKE, "Nouveau42xy", previous_hashes=previous), "previous") is True


def test_set_password_keeps_the_old_hash_in_history(account: Account) -> None:
    old = account.password_hash
    set_password(account, "Second42xy", must_change=True)
    db.session.flush()
    history = db.session.scalars(db.select(PasswordHistory.password_hash).filter_by(account_id=account.id)).all()
    assert history == [old]
    assert verify_password(account.password_hash, "Second42xy")
    assert account.must_change_password is True
    assert account.password_changed_at is not None


def test_set_password_without_must_change_clears_the_flag(account: Account) -> None:
    account.must_change_password = True
    set_password(account, "Second42xy")
    assert account.must_change_password is False


def test_previous_hashes_are_current_plus_history_minus_one(account: Account) -> None:
    for password in ("Second42xy", "Troisieme42", "Quatrieme42"):
        set_password(account, password)
        db.session.flush()
    three = previous_hashes_for(account, PasswordPolicy(history=3))
    assert [verify_password(h, "Quatrieme42") for h in three] == [True, False, False]
    assert verify_password(three[1], "Troisieme42") and verify_password(three[2], "Second42xy")
    assert problems(PasswordPolicy(history=3), "Second42xy", previous_hashes=three)
    assert not problems(PasswordPolicy(history=3), "Premier42x", previous_hashes=three)


def test_history_of_one_is_the_current_password_only(account: Account) -> None:
    set_password(account, "Second42xy")
    db.session.flush()
    assert previous_hashes_for(account, PasswordPolicy(history=1)) == [account.password_hash]


def test_no_previous_hashes_without_history(account: Account) -> None:
    assert previous_hashes_for(account, PasswordPolicy(history=0)) == []


# --------------------------------------------------------------------------
# Context words of an account, through the real plugin hook
# --------------------------------------------------------------------------


def test_context_words_gather_account_space_and_plugin_words() -> None:
    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "PLUGIN_MODULES": ["tests.plugin_exemple"], "SECRET_KEY": "t"})
    with app.app_context():
        space = app.extensions["portal"].spaces["exemple/membres"]
        acc = Account(space_key=space.key, login="123456789/AGENCE7", tenant_ref="T9876",
                      display_name="Amina Ben-Salah", email="amina.bens@exemple.test")
        words = context_words_for(space, acc)
    expected = {"123456789/agence7", "123456789", "agence7", "t9876", "amina", "amina ben-salah", "salah",
                "amina.bens", "mutuelle", "exemple", "mutuelle exemple"}
    assert expected <= set(words)
    assert all(w == w.lower() and len(w) >= 4 for w in words)
    assert len(words) == len(set(words))
    assert outcome(evaluate(space.password_policy, "x123456789", context_words=words), "context") is False


# --------------------------------------------------------------------------
# Secret answers
# --------------------------------------------------------------------------


def test_normalise_answer_drops_case_accents_and_extra_spaces() -> None:
    assert normalise_answer("  Élève  De   CASA ") == "eleve de casa"


@given(st.text())
def test_normalising_an_answer_twice_changes_nothing(answer: str) -> None:
    once = normalise_answer(answer)
    assert normalise_answer(once) == once


def test_answer_verifies_whatever_the_case_and_accents() -> None:
    stored = hash_answer("  Élève  De   CASA ")
    assert stored.startswith("$argon2id$")
    assert verify_answer(stored, "eleve de casa")
    assert not verify_answer(stored, "eleve de rabat")
    assert not verify_answer("garbage", "eleve de casa")


# --------------------------------------------------------------------------
# Temporary passwords
# --------------------------------------------------------------------------

AMBIGUOUS = set("0Oo1lI")


def assert_fits(policy: PasswordPolicy, password: str) -> None:
    assert problems(policy, password) == [], password
    assert re.fullmatch(r"[A-Za-z0-9]+", password)
    assert sum(c.isdigit() for c in password) >= max(policy.min_digits, 2)
    # two letters too, unless the policy's digits leave no room for them
    assert sum(c.isalpha() for c in password) >= min(2, len(password) - max(policy.min_digits, 2))
    assert not AMBIGUOUS & set(password)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from([CNSS_LIKE, CMIM_LIKE, CIMR_LIKE]), attempt=st.integers(0, 10**6))
def test_temporary_passwords_satisfy_cnss_cmim_and_cimr_like_policies(policy: PasswordPolicy, attempt: int) -> None:
    """``attempt`` only makes hypothesis draw the same policy many times."""
    assert_fits(policy, generate_temporary_password(policy))


@given(
    min_length=st.integers(4, 30),
    extra=st.integers(0, 40),
    min_digits=st.integers(0, 4),
    allowed=st.sampled_from([None, "[A-Za-z0-9]", "[a-z0-9]", "[A-Z0-9]"]),
)
def test_temporary_password_satisfies_any_feasible_policy(
    min_length: int, extra: int, min_digits: int, allowed: str | None
) -> None:
    policy = PasswordPolicy(min_length=min_length, max_length=min_length + extra, min_digits=min_digits,
                            allowed=allowed)
    password = generate_temporary_password(policy)
    assert_fits(policy, password)
    assert len(password) == max(min(policy.max_length, 16), policy.min_length)


def test_temporary_password_is_as_long_as_allowed_up_to_sixteen() -> None:
    assert len(generate_temporary_password(CNSS_LIKE)) == 8
    assert len(generate_temporary_password(PasswordPolicy(min_length=8, max_length=64))) == 16


def test_temporary_passwords_differ() -> None:
    assert len({generate_temporary_password(CMIM_LIKE) for _i in range(50)}) == 50


def test_temporary_password_of_a_tiny_policy_gives_up_only_the_extra_letter() -> None:
    policy = PasswordPolicy(min_length=3, max_length=3, min_digits=2)
    password = generate_temporary_password(policy)
    assert problems(policy, password) == []
    assert sum(c.isdigit() for c in password) == 2 and sum(c.isalpha() for c in password) == 1


@pytest.mark.parametrize(
    "policy",
    [
        PasswordPolicy(min_length=3, max_length=3, min_digits=2, min_letters=2),
        PasswordPolicy(min_length=6, max_length=8, allowed="[!@#]"),
        PasswordPolicy(min_length=6, max_length=8, min_letters=1, allowed="[0-9]"),
    ],
)
def test_temporary_password_for_an_impossible_policy_is_refused(policy: PasswordPolicy) -> None:
    with pytest.raises(ValueError):
        generate_temporary_password(policy)
