"""Forms of the user management pages (each posts with its CSRF token)."""
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.core.base.words import label
from webapp.models import ROLES

#: value -> label (the dict shorthand; tuples are deprecated in WTForms 3.3).
ROLE_CHOICES = {role: label(role) for role in ROLES}


class CreateUserForm(FlaskForm):
    # Which names are accepted is the core's rule (accounts.USERNAME): its message shows here.
    username = StringField("Username", validators=[DataRequired()],
                           render_kw={"autocomplete": "off", "maxlength": 80})
    role = SelectField("Role", choices=ROLE_CHOICES, default="support")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "new-password"})


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat it", validators=[
        DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"})


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=80)],
                       render_kw={"placeholder": "e.g. nightly import"})


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token (enable, disable, revoke)."""
