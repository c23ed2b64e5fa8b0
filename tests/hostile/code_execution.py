"""Templates and projects that try to run code: under pytest and under `promptcheck lint`.

Every payload would create ``pwned`` if it ran; the sandbox turns each into an error at the prompt's
line, and lint imports no project Python at all (conftest.py, ``python:`` functions, ``-p`` plugins).
"""

from __future__ import annotations

from . import GOOD_SUITE, PYPROJECT, Hostile

_INTERNALS = "*test_x.prompts.yaml:2: prompt 'p': template tries to reach Python internals (`{}`)*"
_TOUCH = "open('pwned', 'w').close()\n"


def _suite(template: str) -> dict[str, str | bytes]:
    return {"test_x.prompts.yaml": f"prompts:\n  p: |\n    {template}\ncases:\n  - id: one\n"}


def _template(name: str, template: str, attribute: str, *, lint: bool = False, note: str = "") -> Hostile:
    return Hostile(
        name=name,
        files=_suite(template),
        expect=(_INTERNALS.format(attribute),),
        command="promptcheck" if lint else "pytest",
        args=("lint",) if lint else (),
        forbidden=("pwned",),
        timeout=30,
        note=note,
    )


ENTRIES: list[Hostile] = [
    _template("cycler_globals_popen", "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}", "__init__",
              note="cycler's function globals hold `os`"),
    _template("cycler_globals_popen_lint", "{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}",
              "__init__", lint=True, note="the same payload, read by `promptcheck lint`"),
    _template("str_mro_subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__",
              note="walk from a string to every loaded class (subprocess.Popen among them)"),
    _template("self_init_globals_lint",
              "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch pwned') }}", "__init__",
              lint=True, note="the template reference's globals"),
    _template("lipsum_globals", "{{ lipsum.__globals__['os'].popen('touch pwned').read() }}", "__globals__",
              note="a global function's __globals__"),
    _template("joiner_builtins_exec_lint",
              "{{ joiner.__init__.__globals__.__builtins__['exec'](\"open('pwned', 'w')\") }}", "__init__",
              lint=True, note="exec through the builtins of joiner's module"),
    _template("namespace_globals", "{{ namespace.__init__.__globals__.os.system('touch pwned') }}", "__init__",
              note="the namespace class's module globals"),
    _template("attr_filter_class", "{{ (''|attr('__class__')).__mro__ }}", "__class__",
              note="the attr filter instead of a dot"),
    _template("format_field_class", "{{ '{0.__class__.__mro__}'.format('') }}", "__class__",
              note="str.format reaching attributes inside its fields"),
    Hostile(
        name="lint_skips_conftest",
        files={"conftest.py": _TOUCH, "test_x.prompts.yaml": GOOD_SUITE},
        args=("lint",),
        command="promptcheck",
        status=0,
        expect=("1 suite(s) OK*",),
        forbidden=("pwned",),
        timeout=30,
        note="a conftest.py in a pull request runs at import under lint",
    ),
    Hostile(
        name="lint_lists_python_functions",
        files={
            "app.py": _TOUCH + "def echo(messages, params):\n    return messages[-1]['content']\n",
            "evil.py": _TOUCH + "def check(output, context):\n    return True\n",
            "test_x.prompts.yaml": GOOD_SUITE.replace("{ contains: hello }", "{ python: 'evil:check' }"),
        },
        args=("lint",),
        command="promptcheck",
        status=0,
        expect=(
            "test_x.prompts.yaml:7: would import evil:check (`python` assertion); not imported by lint",
            "pyproject.toml*would import app:echo (python model 'echo'); not imported by lint",
        ),
        forbidden=("pwned",),
        timeout=30,
        note="a python: assertion and a python model import their modules",
    ),
    Hostile(
        name="lint_ignores_addopts_plugin",
        files={
            "evil_plugin.py": _TOUCH,
            "pyproject.toml": PYPROJECT + '\n[tool.pytest.ini_options]\naddopts = "-p evil_plugin"\n',
            "test_x.prompts.yaml": GOOD_SUITE,
        },
        args=("lint",),
        command="promptcheck",
        status=0,
        expect=("1 suite(s) OK*",),
        forbidden=("pwned",),
        timeout=30,
        note="addopts `-p module` imports a module from the project",
    ),
    Hostile(
        name="lint_skips_test_modules",
        files={"test_evil.py": _TOUCH, "pkg/__init__.py": _TOUCH, "pkg/test_more.py": _TOUCH,
               "test_x.prompts.yaml": GOOD_SUITE},
        args=("lint",),
        command="promptcheck",
        status=0,
        expect=("1 suite(s) OK*",),
        forbidden=("pwned",),
        timeout=30,
        note="collecting test_*.py (and a package's __init__.py) imports them",
    ),
    Hostile(
        name="lint_no_module_shadowing",
        files={"jsonschema.py": _TOUCH, "yaml.py": _TOUCH,
               "pyproject.toml": PYPROJECT + '\n[tool.pytest.ini_options]\npythonpath = ["."]\n',
               "test_x.prompts.yaml": GOOD_SUITE.replace("{ contains: hello }", "{ json_schema: {type: string} }")},
        args=("lint",),
        command="promptcheck",
        status=0,
        expect=("1 suite(s) OK*",),
        forbidden=("pwned",),
        timeout=30,
        note="a project module named like a library lint imports, found first on sys.path",
    ),
]  # fmt: skip
