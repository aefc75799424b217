"""The documentation stays true: the configuration reference is generated from the schema."""

from pathlib import Path

from openses.config import Settings, settings_reference

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_reference_is_up_to_date():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == settings_reference(), "run: openses config-doc --output docs/configuration.md"


def test_every_setting_has_a_description():
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_readme_names_the_two_quickstart_commands_and_they_exist():
    readme = (ROOT / "README.md").read_text()
    assert "./run.sh" in readme and "./test.sh" in readme
    assert (ROOT / "run.sh").exists() and (ROOT / "test.sh").exists()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./test.sh" in ci
