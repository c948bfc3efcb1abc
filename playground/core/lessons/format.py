"""A lesson file: scenes that each name a tab, a picture recipe, a caption and maybe an action.

A lesson is JSON (or TOML, read only) of the form

    {"lesson": 1, "name": "vae", "title": "The variational autoencoder",
     "scenes": [{"title": "...", "tab": "VAE / AE / GAN", "caption": "z ~ N(0, I) ...",
                 "recipe": {"family": "vae", "model": "vae-shapes", "picture": "decode", ...},
                 "action": {"kind": "sweep", "key": "latent.3", "from": -2.5, "to": 2.5, "frames": 30}}]}

`recipe` is a picture recipe exactly as the PNG exports write it (`provenance.picture_recipe`),
so a scene can be recorded from any panel and drawn by `core.reproduce.render_recipe`.
Everything read is checked here: a hand-edited file that is wrong gets one line naming the
file and the scene (`LessonError`), never a traceback.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..images import atomic_path
from .actions import check_action

FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_SCENES = 100
SUFFIXES = (".json", ".toml")


class LessonError(ValueError):
    """A lesson that cannot be read or used; str() is one line naming the file and the scene."""


@dataclass(frozen=True)
class Scene:
    title: str
    tab: str
    caption: str = ""
    recipe: dict[str, Any] = field(default_factory=dict)
    action: dict[str, Any] | None = None


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    scenes: tuple[Scene, ...]
    path: Path | None = None


def scene_from_recipe(tab: str, recipe: dict[str, Any], caption: str = "", title: str = "") -> Scene:
    """A scene showing what a panel shows (its `recipe()`), e.g. for the presenter's "Add scene"."""
    scene = Scene(title=title or tab, tab=tab, caption=caption, recipe=json.loads(json.dumps(recipe)))
    _check_scene(scene, 0)
    return scene


def load_lesson(path: str | Path) -> Lesson:
    """Read and check a lesson file (.json, or .toml); LessonError naming the file and scene otherwise."""
    path = Path(path)
    if not path.is_file():
        raise LessonError(f"{path}: no such lesson file" if not path.exists() else f"{path}: is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except json.JSONDecodeError as exc:
        raise LessonError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{path}: not valid TOML ({exc})") from None
    try:
        return lesson_from_dict(data, path)
    except LessonError as exc:
        raise LessonError(f"{path}: {exc}") from None


def lesson_from_dict(data: Any, path: Path | None = None) -> Lesson:
    """A checked Lesson from the parsed file (LessonError, without the file name, when it is wrong)."""
    if not isinstance(data, dict):
        raise LessonError(f"a lesson is a JSON object with a 'scenes' list, not {type(data).__name__}")
    version = data.get("lesson", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise LessonError(f"'lesson' (the format version) must be {FORMAT_VERSION}, not {version!r}")
    name = data.get("name", path.stem if path is not None else None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise LessonError(f"'name' must be lower-case letters, digits, '-', '_' or '.', not {name!r}")
    title = data.get("title", name)
    if not isinstance(title, str):
        raise LessonError(f"'title' must be text, not {title!r}")
    raw = data.get("scenes")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SCENES:
        raise LessonError(f"'scenes' must be a list of 1 to {MAX_SCENES} scenes")
    unknown = set(data) - {"lesson", "name", "title", "scenes"}
    if unknown:
        raise LessonError(f"unknown key {sorted(unknown)[0]!r} (a lesson has lesson, name, title, scenes)")
    return Lesson(name, title, tuple(_scene(item, i) for i, item in enumerate(raw)), path)


def lesson_to_dict(lesson: Lesson) -> dict[str, Any]:
    scenes = []
    for scene in lesson.scenes:
        item = {"title": scene.title, "tab": scene.tab, "caption": scene.caption, "recipe": scene.recipe}
        if scene.action is not None:
            item["action"] = scene.action
        scenes.append(item)
    return {"lesson": FORMAT_VERSION, "name": lesson.name, "title": lesson.title, "scenes": scenes}


def save_lesson(lesson: Lesson, path: str | Path) -> Path:
    """Write the lesson as JSON, atomically (a failed write leaves the file that was there)."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise LessonError(f"{path}: a lesson is saved as .json")
    for i, scene in enumerate(lesson.scenes):
        _check_scene(scene, i)
    text = dumps(lesson_to_dict(lesson)) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def dumps(value: Any, indent: int = 0) -> str:
    """JSON that reads well as text: objects one key a line, a list of numbers (a latent, a row of a
    token grid) on one line, short objects (an action) on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or len(flat) + indent <= 100 or _numbers_only(value):
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, list):
        return "[\n" + ",\n".join(inner + dumps(v, indent + 2) for v in value) + "\n" + pad + "]"
    items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, indent + 2)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + pad + "}"


def _numbers_only(value: Any) -> bool:
    """A list of plain values (a latent, a row of tokens): one line however long."""
    return isinstance(value, list) and all(isinstance(v, (int, float, bool, str)) or v is None for v in value)


def scene_label(scene: Scene, index: int) -> str:
    """'scene 3 'DDIM'' (1-based), how messages name a scene."""
    return f"scene {index + 1} {scene.title!r}" if scene.title else f"scene {index + 1}"


def _scene(item: Any, index: int) -> Scene:
    if not isinstance(item, dict):
        raise LessonError(f"scene {index + 1}: a scene is a JSON object, not {type(item).__name__}")
    title = item.get("title", "")
    where = f"scene {index + 1} {title!r}" if isinstance(title, str) and title else f"scene {index + 1}"
    unknown = set(item) - {"title", "tab", "caption", "recipe", "action"}
    if unknown:
        raise LessonError(f"{where}: unknown key {sorted(unknown)[0]!r} (a scene has title, tab, caption, "
                          "recipe, action)")
    for key in ("title", "tab", "caption"):
        if not isinstance(item.get(key, ""), str):
            raise LessonError(f"{where}: {key!r} must be text, not {item[key]!r}")
    scene = Scene(title, item.get("tab", ""), item.get("caption", ""), item.get("recipe"), item.get("action"))
    _check_scene(scene, index)
    return scene


def _check_scene(scene: Scene, index: int) -> None:
    where = scene_label(scene, index)
    if not scene.tab:
        raise LessonError(f"{where}: it names no 'tab' (a panel's title, e.g. \"Diffusion\")")
    recipe = scene.recipe
    if not isinstance(recipe, dict):
        raise LessonError(f"{where}: 'recipe' must be a JSON object (a picture recipe), not {recipe!r}")
    if not isinstance(recipe.get("family"), str) or not recipe["family"]:
        raise LessonError(f"{where}: its recipe names no model 'family'")
    if not any(isinstance(recipe.get(k), str) and recipe[k] for k in ("model", "checkpoint")):
        raise LessonError(f"{where}: its recipe names no 'model' (a shipped model's name) nor 'checkpoint'")
    if scene.action is not None:
        try:
            check_action(scene.action, recipe)
        except ValueError as exc:
            raise LessonError(f"{where}: its action: {exc}") from None
