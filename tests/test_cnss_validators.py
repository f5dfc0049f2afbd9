"""The identifier formats of the CNSS portal (SPEC « FORMATS »): INPE, N° CNSS, ICE and
its check key, CNIE, carte de séjour — each refused with its French message."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wtforms import Form, StringField

from plugins.cnss import validators as v

digits = st.text(alphabet="0123456789", min_size=1, max_size=20)


@given(digits)
def test_an_inpe_is_exactly_nine_digits(value):
    assert (v.inpe_error(value) is None) == (len(value) == 9)


@pytest.mark.parametrize("value", ["12345678a", " 123456789", "١٢٣٤٥٦٧٨٩", "", "1234-5678"])
def test_an_inpe_with_anything_but_ascii_digits_is_refused_with_its_message(value):
    assert v.inpe_error(value) == "L'Identifiant National (INPE) compte 9 chiffres."


@given(digits)
def test_a_cnss_number_is_exactly_nine_digits(value):
    assert (v.cnss_number_error(value) is None) == (len(value) == 9)


@pytest.mark.parametrize("ice", ["001561191000066", "002136093000040"])
def test_published_ices_carry_a_valid_key(ice):
    assert v.ice_error(ice) is None
    assert v.ice_key(ice[:13]) == ice[13:]


def test_an_ice_whose_key_does_not_match_is_refused():
    assert v.ice_error("001561191000065") == v.ICE_KEY_MESSAGE


@pytest.mark.parametrize("value", ["00156119100006", "0015611910000666", "00156119100006A", ""])
def test_an_ice_is_fifteen_digits(value):
    assert v.ice_error(value) == "L'Identifiant Commun de l'Entreprise (ICE) compte 15 chiffres."


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_the_key_computed_for_any_thirteen_digits_makes_a_valid_ice(first_13):
    assert v.ice_error(first_13 + v.ice_key(first_13)) is None


@given(st.text(alphabet="0123456789", min_size=13, max_size=13), st.integers(1, 96))
def test_any_other_key_is_refused(first_13, shift):
    wrong = f"{(int(v.ice_key(first_13)) + shift) % 97:02d}"
    assert v.ice_error(first_13 + wrong) == v.ICE_KEY_MESSAGE


@pytest.mark.parametrize("cni", ["A12345", "BE123456", "AB1234", "Z9999"])
def test_cnie_numbers_of_one_or_two_letters_then_digits_are_accepted(cni):
    assert v.cni_error(cni) is None


@pytest.mark.parametrize("cni", ["ABC12345", "12345678", "A123", "BE1234567", "be123456", "A12B45"])
def test_other_cnie_numbers_are_refused(cni):
    assert v.cni_error(cni) == v.CNI_MESSAGE


@given(st.from_regex(r"[A-Z]{1,2}[0-9]{3,7}", fullmatch=True))
def test_cnie_length_rule_is_five_to_eight_characters(cni):
    assert (v.cni_error(cni) is None) == (5 <= len(cni) <= 8)


def test_a_residence_card_is_accepted_where_the_director_may_be_foreign():
    assert v.cnie_or_residence_card_error("E12345678") is None
    assert v.cnie_or_residence_card_error("12AB") == v.CNIE_OR_CARD_MESSAGE


class DirectorForm(Form):
    ice = StringField(validators=[v.field_check(v.ice_error)])
    cnie = StringField(validators=[v.field_check(v.cnie_or_residence_card_error)])


def test_form_fields_are_compacted_upper_cased_and_checked(app):
    with app.test_request_context():
        form = DirectorForm(data={"ice": "001 561 191 000 066", "cnie": "be 123456"})
        assert form.validate(), form.errors
        assert (form.ice.data, form.cnie.data) == ("001561191000066", "BE123456")
        form = DirectorForm(data={"ice": "001561191000065", "cnie": "x"})
        assert not form.validate()
        assert form.errors == {"ice": [v.ICE_KEY_MESSAGE], "cnie": [v.CNIE_OR_CARD_MESSAGE]}
