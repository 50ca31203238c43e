
from sweeps.config.reference import BEGIN, END, reference_markdown, with_reference
from tests.helpers import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def test_readme_reference_is_the_generated_one():
    readme = README.read_text()
    assert reference_markdown() in readme, "run `python -m sweeps.reference README.md`"
    assert with_reference(readme) == readme


def test_reference_lists_every_field_with_its_help():
    reference = reference_markdown()
    assert reference.startswith(BEGIN) and reference.endswith(END)
    for key in ("`training.learning_rate`", "`method.r`", "`search.algorithm`", "`scheduler.grace_period`",
                "`tracking.wandb.mode`", "`storage.path`", "`loguniform`", "`tied`"):
        assert key in reference
    assert "Peak learning rate" in reference
