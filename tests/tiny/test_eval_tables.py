"""`imprint eval`'s personalization table pools several training seeds per instance."""

from __future__ import annotations

from pathlib import Path

from imprint.engine import BaseModel, Generator
from imprint.evaluation.captioner import SceneCaptioner
from imprint.evaluation.fidelity import INSTANCES, personalization
from imprint.evaluation.judge import Judge
from imprint.models import bundled_judge, bundled_model


def test_each_seed_trains_its_own_adapter_and_their_images_are_pooled(tmp_path: Path) -> None:
    base = BaseModel.load(bundled_model())
    judge = Judge.load(bundled_judge())
    lines: list[str] = []
    table, sheets = personalization(base, Generator(base), judge, tmp_path, instances=INSTANCES[:1],
                                    per_scene=1, steps=2, train_steps=2, captioner=SceneCaptioner(judge),
                                    seeds=2, log=lines.append)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"instance-0-{run}.safetensors" for run in (0, 1)]
    assert len(lines) == 1 and "of 4 x 2 seeds" in lines[0]
    instance, description, seconds, *fractions = table.rows[0]
    assert instance == INSTANCES[0].describe() and "-" in seconds
    assert description == "golden spotted dog with a red scarf"
    # Fractions of 8 images (4 scenes x 2 adapters) for ours, of 4 for each baseline drawn once.
    assert len(fractions) == 6 == len(table.rows[-1]) - 3
    assert all(f.endswith("%") for f in fractions) and table.rows[-1][0] == "all"
    assert len(sheets[instance]) == 5 + 4 and len(sheets[f"baseline: {instance}"]) == 4
    assert len(sheets[f"described baseline: {instance}"]) == 4


def test_without_descriptions_the_table_has_no_described_baseline(tmp_path: Path) -> None:
    base = BaseModel.load(bundled_model())
    judge = Judge.load(bundled_judge())
    table, sheets = personalization(base, Generator(base), judge, tmp_path, instances=INSTANCES[:1],
                                    per_scene=1, steps=2, train_steps=2, captioner=SceneCaptioner(judge),
                                    describe=False, log=lambda _: None)
    assert len(table.columns) == 6 and len(table.rows[-1]) == 6
    assert not any(name.startswith("described") for name in sheets)
