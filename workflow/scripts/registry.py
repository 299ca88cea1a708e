"""Snakemake script for rule `numbers`: merge the stages' number fragments into the
manuscript registry and add the study metadata from the config (every metadata key,
"not reported" when the study does not state it) and the facts of the design the
manuscript's sentences adapt to (``design.*``, ``agreement.status``)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402

from concord.manuscript import STUDY_METADATA, design_entries, study_design_entries  # noqa: E402
from concord.numbers import Fragment, merge, write_json  # noqa: E402


def config_lines(path, section, fields):
    """1-based line of each ``field:`` inside the top-level ``section:`` of a YAML file."""
    found, inside = {}, False
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if re.match(rf"^{re.escape(section)}\s*:", line):
                inside = True
                continue
            if inside and re.match(r"^\S", line) and not line.startswith("#"):
                break
            m = re.match(r"^\s+([A-Za-z_][\w-]*)\s*:", line)
            if inside and m and m.group(1) in fields and m.group(1) not in found:
                found[m.group(1)] = n
    return found


def config_path(path):
    """The config file as recorded in the registry: relative to the working directory
    when inside it, so that runs in different folders give the same bytes."""
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel.startswith("..") else rel


def main(sm):
    fragments = []
    for path in sm.input.fragments:
        with open(path, encoding="utf-8") as fh:
            fragments.append(json.load(fh))
        print(f"numbers: read {path}", file=sys.stderr)
    study = Fragment("numbers")
    params_study = dict(sm.params.study)
    scalars = {k: v for k, v in params_study.items() if isinstance(v, (str, int, float, bool))}
    config = config_path(sm.params.configfile)
    where = config_lines(config, "study", set(scalars) | set(STUDY_METADATA))
    for field, value in sorted(scalars.items()):
        shown = value if isinstance(value, str) else None
        study.add(f"study.{field}", value, f"study {field} (config: study.{field})", config,
                  [where[field]] if field in where else [], shown=shown)
    for field, meaning in sorted(STUDY_METADATA.items()):
        if field not in scalars:        # not stated: registered, and says so
            study.add(f"study.{field}", None, f"{meaning} (config: study.{field})", config,
                      [], shown="not reported",
                      undefined=f"the study configuration does not state study.{field}")
    registry = merge(fragments + [{"numbers": study.numbers, "tables": study.tables}])
    groups = list(sm.params.groups)
    for key, entry in design_entries(registry["numbers"], groups, config).items():
        registry["numbers"][key] = entry
    for key, entry in study_design_entries(registry["numbers"], params_study["design"],
                                           sm.params.unit, config, sm.input.codebook,
                                           roles=sm.params.roles).items():
        registry["numbers"][key] = entry
    write_json(registry, sm.output.registry)
    print(f"numbers: {len(registry['numbers'])} numbers, {len(registry['tables'])} tables "
          f"from {len(fragments)} fragments", file=sys.stderr)


main(snakemake)  # noqa: F821
