"""Lessons: files of scenes (a tab, a picture recipe, a caption, an action) that play in presenter mode
and export as slides (`playground lesson`). See format.py for the file, actions.py for what plays."""

from .actions import action_frames
from .builtin import builtin_lessons, find_lesson
from .format import Lesson, LessonError, Scene, load_lesson, save_lesson, scene_from_recipe
from .problems import lesson_problems
from .slide import caption_layout, render_slide

__all__ = ["Lesson", "LessonError", "Scene", "action_frames", "builtin_lessons", "caption_layout", "find_lesson",
           "lesson_problems", "load_lesson", "render_slide", "save_lesson", "scene_from_recipe"]
