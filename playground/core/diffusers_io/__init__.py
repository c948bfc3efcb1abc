"""Opening diffusers pipeline folders: recognise (`folder.py`), load (`load.py`), adapt the network to the
project's call (`adapter.py`), step it as its scheduler config says (`schedule.py`) and sample it seeded as
diffusers does (`sampling.py`). diffusers and transformers are imported only when a folder is loaded."""

from .folder import DiffusersFolderError, diffusers_folder_of, is_diffusers_folder, summarize

__all__ = ["DiffusersFolderError", "diffusers_folder_of", "is_diffusers_folder", "summarize"]
