"""The tag library: hierarchical tags (``group/tag``), their assignments and their refresh.

    >>> from segflow.tags import assign_tags, install_templates, refresh_tags
    >>> install_templates(ws, "ecommerce")                    # doctest: +SKIP
    >>> refresh_tags(ws)                                      # doctest: +SKIP
    >>> assign_tags(ws, "crm/key_account", ["shop_000001"])   # doctest: +SKIP

Modules: :mod:`~segflow.tags.definition` (``tags/*.yaml`` → checked, frozen definitions),
:mod:`~segflow.tags.custom` (read-only SQL and registered Python functions),
:mod:`~segflow.tags.assign` (manual, file, model and journey assignments),
:mod:`~segflow.tags.refresh` (computed tags → ``tag_assignments`` as a set difference),
:mod:`~segflow.tags.library` (what is tagged: counts, sources, values),
:mod:`~segflow.tags.templates` (the industry templates shipped with segflow).
"""

from __future__ import annotations

from segflow.tags.assign import AssignResult, RemoveResult, assign_tags, read_id_file, remove_tags
from segflow.tags.custom import check_tag_sql, registered_functions, tag_function
from segflow.tags.definition import (
    COMPUTED_SOURCES,
    SOURCES,
    TagDefinition,
    check_tag_name,
    load_tag_definitions,
    parse_tag,
)
from segflow.tags.library import (
    ProfileTags,
    profile_tags,
    tag_members,
    tag_summary,
    tags_of,
    tags_overview,
)
from segflow.tags.refresh import TagRefresh, check_tag_definitions, refresh_tags, tag_history
from segflow.tags.templates import InstallResult, Template, install_templates, list_templates

__all__ = [
    "COMPUTED_SOURCES",
    "SOURCES",
    "AssignResult",
    "InstallResult",
    "ProfileTags",
    "RemoveResult",
    "TagDefinition",
    "TagRefresh",
    "Template",
    "assign_tags",
    "check_tag_definitions",
    "check_tag_name",
    "check_tag_sql",
    "install_templates",
    "list_templates",
    "load_tag_definitions",
    "parse_tag",
    "profile_tags",
    "read_id_file",
    "refresh_tags",
    "registered_functions",
    "remove_tags",
    "tag_function",
    "tag_history",
    "tag_members",
    "tag_summary",
    "tags_of",
    "tags_overview",
]
