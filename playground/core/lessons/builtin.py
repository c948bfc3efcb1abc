"""The lessons the package ships (builtin/*.json, one per step of the seeds' story), and finding one by name."""

from __future__ import annotations

from pathlib import Path

from .format import SUFFIXES, Lesson, LessonError, load_lesson

BUILTIN_DIR = Path(__file__).with_name("builtin")
# the story's order: each lesson builds on the ones before
ORDER = ("autoencoder", "vae", "vqvae", "gan", "ddpm", "ddim", "guidance", "latent-diffusion", "flow-matching",
         "dalle", "clip")


def builtin_lessons() -> list[Lesson]:
    """Every built-in lesson, in the story's order (any others after, by name)."""
    lessons = [load_lesson(path) for path in sorted(BUILTIN_DIR.glob("*.json"))]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(lessons, key=lambda lesson: (rank.get(lesson.name, len(ORDER)), lesson.name))


def find_lesson(name_or_path: str | Path) -> Lesson:
    """A lesson file (a path, or a name ending .json/.toml), else the built-in lesson of that name."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() in SUFFIXES or path.exists() or "/" in text or "\\" in text:
        return load_lesson(path)
    builtin = BUILTIN_DIR / f"{text}.json"
    if builtin.is_file():
        return load_lesson(builtin)
    names = ", ".join(lesson.name for lesson in builtin_lessons()) or "none"
    raise LessonError(f"no lesson called {text!r}: give a lesson file (.json) or a built-in name ({names})")
