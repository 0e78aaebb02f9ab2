"""The names of everything in a run folder, in one place (the ground floor: no imports).

RUN/
  run.json            what was asked (model, hyperparameters, budget, seed, devices) and how it went
  data.json           data source, loader options, split seed, fingerprint
  config.json         model name, hyperparameters, genlab version   } the model: `model.save(RUN)`
  model.safetensors   fitted state                                   }
  log.jsonl           one JSON line per logged training step
  checkpoints/        last/ and best/ (neural families), each state.safetensors + state.json
  evaluation.json     Rule 1 / Rule 2 results (`genlab evaluate`; by default after fit)
  figures/            what the report shows, drawn when the run is evaluated (figures.json lists them)
  report.html         `genlab report`
  explore/            `genlab explore`

A run being built lives in a hidden sibling (`.NAME.partial`) until it is complete, and a lock file
sibling (`.NAME.lock`) marks the process working on it.
"""

__all__ = [
    "CHECKPOINTS_DIR",
    "CONFIG_FILE",
    "DATA_FILE",
    "EVALUATION_FILE",
    "EXPLORE_DIR",
    "FIGURES_DIR",
    "FIGURES_FILE",
    "LOG_FILE",
    "REPORT_FILE",
    "RUN_FILE",
    "RUN_MARKERS",
    "WEIGHTS_FILE",
]

RUN_FILE = "run.json"
DATA_FILE = "data.json"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LOG_FILE = "log.jsonl"
CHECKPOINTS_DIR = "checkpoints"
EVALUATION_FILE = "evaluation.json"
FIGURES_DIR = "figures"
FIGURES_FILE = "figures.json"
REPORT_FILE = "report.html"
EXPLORE_DIR = "explore"

#: any of these makes a folder a genlab run folder (so `--force` may replace it)
RUN_MARKERS = (RUN_FILE, DATA_FILE, CONFIG_FILE)
