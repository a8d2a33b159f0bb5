"""Configuration: pydantic models per section, the loader, and secret handling."""

from sensebutler.config.loader import ConfigError, ConfigProblem, load_config, parse_config, validate_config
from sensebutler.config.model import Config
from sensebutler.config.secrets import secret_values

__all__ = [
    "Config",
    "ConfigError",
    "ConfigProblem",
    "load_config",
    "parse_config",
    "secret_values",
    "validate_config",
]
