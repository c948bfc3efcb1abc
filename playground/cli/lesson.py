"""`playground lesson`: list the lessons, export one as slides (and videos), or present it.

    playground lesson --list                      one lesson a line: name, title, scene count
    playground lesson vae --export slides/        every scene as slides/NN-title.png at 1280x720
    playground lesson vae --export slides/ --video    ... and each scene's action as NN-title.mp4
    playground lesson my-lesson.json --present    the app, full screen, on that lesson

A lesson is a built-in's name or a lesson file (.json, or .toml). Every slide is rendered
before the first file is written, so a lesson that cannot be exported (a scene whose model is
not there, a bad recipe) writes nothing and says which scene, in one line.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import time
from pathlib import Path

from ..core.device import pick_device


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("lesson", help="list, export (slides, videos) or present a lesson",
                                 description="A lesson: scenes of the app (a tab, a model and its settings, a "
                                             "caption, an action that plays).")
    parser.add_argument("lesson", nargs="?", metavar="NAME|FILE", help="a built-in lesson's name or a lesson file")
    parser.add_argument("--list", action="store_true", help="list the built-in lessons, one a line, name first")
    parser.add_argument("--export", metavar="DIR", help="write every scene to DIR/NN-title.png (1280x720, captioned)")
    parser.add_argument("--video", action="store_true", help="with --export: also each scene's action as NN-title.mp4")
    parser.add_argument("--fps", type=int, default=12, help="frames a second of --video (default 12)")
    parser.add_argument("--present", action="store_true", help="open the app in presenter mode on the lesson")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..core.lessons import builtin_lessons, find_lesson

    if args.list:
        for lesson in builtin_lessons():
            print(f"{lesson.name:<18} {lesson.title}  ({len(lesson.scenes)} scenes)")
        return 0
    if not args.lesson:
        raise ValueError("name a lesson (playground lesson --list shows them) or give a lesson file")
    if not args.export and not args.present:
        raise ValueError("say what to do with the lesson: --export DIR or --present")
    if args.video and not args.export:
        raise ValueError("--video goes with --export DIR")
    lesson = find_lesson(args.lesson)
    if args.export:
        export(lesson, Path(args.export), pick_device(args.device), args.video, args.fps)
    if args.present:
        return present(lesson, args.device)
    return 0


def export(lesson, folder: Path, device, video: bool = False, fps: int = 12) -> list[Path]:
    """Render every slide, then write them (a scene that fails writes nothing), then each action's video;
    returns the files written."""
    from ..core.images import save_png
    from ..core.lessons import action_frames, lesson_problems, render_slide
    from ..core.lessons.actions import frame_labels
    from ..core.lessons.format import scene_label
    from ..core.lessons.slide import SLIDE_SIZE
    from ..core.reproduce import render_recipe

    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--export {folder}: is a file, not a folder")
    if video:  # checked before any slide is drawn: a missing encoder writes nothing
        import importlib.util

        from ..core.video import MISSING_FFMPEG, check_fps

        check_fps(fps, "--fps")
        if importlib.util.find_spec("imageio_ffmpeg") is None:
            raise ValueError(MISSING_FFMPEG)
    problems = lesson_problems(lesson)
    if problems:
        raise ValueError(f"{lesson.name}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                                             else "") + "; nothing was written")
    started, models, slides = time.perf_counter(), {}, []
    count = len(lesson.scenes)
    for index, scene in enumerate(lesson.scenes):  # every slide first: a scene that fails writes nothing
        try:
            slides.append(render_slide(scene, device=device, loaded=_model(scene, device, models),
                                       counter=f"{index + 1}/{count}"))
        except ValueError as exc:
            raise ValueError(f"{lesson.name}: {scene_label(scene, index)}: {exc}; nothing was written") from None
    written = []
    for index, (scene, slide) in enumerate(zip(lesson.scenes, slides)):
        path = folder / f"{index + 1:02d}-{slug(scene.title) or 'scene'}.png"
        recipe = dict(scene.recipe) | {"slide": {"lesson": lesson.name, "scene": index + 1, "size": list(SLIDE_SIZE)}}
        written.append(save_png(path, slide, recipe))
        print(path)
    for index, scene in enumerate(lesson.scenes) if video else ():
        frames = action_frames(scene)
        if not frames or not scene.recipe.get("picture"):
            continue
        from ..core.video import write_video

        loaded = _model(scene, device, models)
        slides_of = (render_slide(scene, loaded=loaded, picture=render_recipe(recipe, device, loaded)[0],
                                  counter=f"{label}   {index + 1}/{count}")
                     for recipe, label in zip(frames, frame_labels(scene)))
        path = written[index].with_suffix(".mp4")
        written.append(write_video(slides_of, path, fps=fps, hold_last=1.0, recipe=dict(scene.recipe)))
        print(path)
    print(f"{lesson.name}: {count} scenes exported in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return written


def _model(scene, device, models: dict):
    """The scene's model, loaded once per export (None for a scene without a picture)."""
    from ..core.reproduce import load_recipe_model

    if not scene.recipe.get("picture"):
        return None
    key = (scene.recipe.get("model"), scene.recipe.get("checkpoint"), scene.recipe.get("family"))
    if key not in models:
        models[key] = load_recipe_model(scene.recipe, device)[0]
    return models[key]


def present(lesson, device: str) -> int:
    from ..gui.app import run_app

    if "lesson" not in inspect.signature(run_app).parameters:
        raise ValueError("this version of the app has no presenter mode yet (run_app takes no lesson)")
    return run_app(device=device, lesson=str(lesson.path) if lesson.path else lesson.name, present=True)


def slug(title: str, limit: int = 40) -> str:
    """A file-name-safe form of a scene's title: 'Random latents are noise' -> 'random-latents-are-noise'."""
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return text[:limit].rstrip("-")
