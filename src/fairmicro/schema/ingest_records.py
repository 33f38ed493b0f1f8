# generated from fairmicro.yaml by fairmicro.schema.generate; do not edit
"""The records ingest writes, validated without the pydantic model graph.

Each class validates with pydantic-core and the core schema pydantic builds for
the model of the same name in ``models.py`` (same conversions, same errors),
so ingest imports neither pydantic nor the other models. Regenerate with
``python -m fairmicro.schema.generate``.
"""

from __future__ import annotations

from enum import Enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_core import SchemaValidator


class FileFormat(str, Enum):
    """Container format of an image file."""

    tiff = 'tiff'
    png = 'png'
    jpeg = 'jpeg'
    bmp = 'bmp'


class LabelSource(str, Enum):
    """Where an image label came from."""

    folder = 'folder'
    table = 'table'
    manual = 'manual'
    predicted = 'predicted'


class Record:
    """A validated record: built and assigned through its class's ``validator``, like a pydantic model."""

    __slots__ = ("__dict__", "model_fields_set")
    model_fields: ClassVar[dict[str, None]]
    validator: ClassVar[SchemaValidator]
    model_fields_set: set[str]

    if TYPE_CHECKING:  # fields live in __dict__, set by the validator; the models in models.py name their types

        def __getattr__(self, name: str) -> Any: ...

    def __init__(self, **values: Any) -> None:
        fields, _, fields_set = self.validator.validate_python(values)
        object.__setattr__(self, "__dict__", fields)
        object.__setattr__(self, "model_fields_set", fields_set)

    def __setattr__(self, name: str, value: Any) -> None:
        fields, _, _ = self.validator.validate_assignment(self.__dict__, name, value)
        object.__setattr__(self, "__dict__", fields)
        self.model_fields_set.add(name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> tuple[dict[str, Any], set[str]]:
        return self.__dict__, self.model_fields_set

    def __setstate__(self, state: tuple[dict[str, Any], set[str]]) -> None:  # as validated when pickled
        object.__setattr__(self, "__dict__", state[0])
        object.__setattr__(self, "model_fields_set", state[1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def model_dump(self) -> dict[str, Any]:
        """The fields as a dict."""
        return dict(self.__dict__)


class Instrument(Record):
    """A microscope, identified by vendor, model and serial."""

    __slots__ = ()
    model_fields: ClassVar[dict[str, None]] = dict.fromkeys(('instrument_id', 'vendor', 'instrument_model', 'instrument_serial'))
    validator: ClassVar[SchemaValidator] = SchemaValidator(
        {'type': 'model-fields', 'fields': {'instrument_id': {'type': 'model-field', 'schema': {'type': 'str'}}, 'vendor': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'instrument_model': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'instrument_serial': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}}, 'model_name': 'Instrument', 'computed_fields': []},
        {'serialize_by_alias': True, 'validate_by_name': True, 'validate_default': True, 'extra_fields_behavior': 'forbid', 'strict': False, 'title': 'Instrument'},
    )


class ImagingConditions(Record):
    """The imaging conditions of one image, normalised to the units in the slot names."""

    __slots__ = ()
    model_fields: ClassVar[dict[str, None]] = dict.fromkeys(('image_sha256', 'detector', 'detector_mode', 'accelerating_voltage_kv', 'beam_current_na', 'working_distance_mm', 'dwell_time_us', 'magnification', 'horizontal_field_width_um', 'pixel_size_x_nm', 'pixel_size_y_nm', 'stage_x_mm', 'stage_y_mm', 'stage_z_mm', 'stage_rotation_deg', 'stage_tilt_deg', 'brightness_percent', 'contrast_percent', 'acquired_at', 'operator'))
    validator: ClassVar[SchemaValidator] = SchemaValidator(
        {'type': 'model-fields', 'fields': {'image_sha256': {'type': 'model-field', 'schema': {'type': 'str'}}, 'detector': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'detector_mode': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'accelerating_voltage_kv': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'beam_current_na': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'working_distance_mm': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'dwell_time_us': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'magnification': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'horizontal_field_width_um': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'pixel_size_x_nm': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'pixel_size_y_nm': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float', 'ge': 0}}, 'default': None}}, 'stage_x_mm': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'stage_y_mm': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'stage_z_mm': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'stage_rotation_deg': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'stage_tilt_deg': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'brightness_percent': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'contrast_percent': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'float'}}, 'default': None}}, 'acquired_at': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'datetime', 'microseconds_precision': 'truncate'}}, 'default': None}}, 'operator': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}}, 'model_name': 'ImagingConditions', 'computed_fields': []},
        {'serialize_by_alias': True, 'validate_by_name': True, 'validate_default': True, 'extra_fields_behavior': 'forbid', 'strict': False, 'title': 'ImagingConditions'},
    )


class Image(Record):
    """One image, identified by the SHA-256 of its file."""

    __slots__ = ()
    model_fields: ClassVar[dict[str, None]] = dict.fromkeys(('sha256', 'path', 'file_format', 'size_bytes', 'width_px', 'height_px', 'bit_depth', 'channels', 'page_index', 'page_count', 'data_bar_height_px', 'extractor', 'extractor_version', 'vendor_metadata', 'extraction_warnings', 'instrument_id', 'specimen_id', 'label', 'label_source', 'ingested_at'))
    validator: ClassVar[SchemaValidator] = SchemaValidator(
        {'type': 'model-fields', 'fields': {'sha256': {'type': 'model-field', 'schema': {'type': 'str'}}, 'path': {'type': 'model-field', 'schema': {'type': 'str'}}, 'file_format': {'type': 'model-field', 'schema': {'type': 'function-after', 'function': {'type': 'no-info', 'function': attrgetter('value')}, 'schema': {'type': 'enum', 'cls': FileFormat, 'members': [FileFormat.tiff, FileFormat.png, FileFormat.jpeg, FileFormat.bmp], 'sub_type': 'str'}}}, 'size_bytes': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 0}}, 'default': None}}, 'width_px': {'type': 'model-field', 'schema': {'type': 'int', 'ge': 1}}, 'height_px': {'type': 'model-field', 'schema': {'type': 'int', 'ge': 1}}, 'bit_depth': {'type': 'model-field', 'schema': {'type': 'int', 'ge': 1}}, 'channels': {'type': 'model-field', 'schema': {'type': 'int', 'ge': 1}}, 'page_index': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 0}}, 'default': None}}, 'page_count': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 1}}, 'default': None}}, 'data_bar_height_px': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 0}}, 'default': None}}, 'extractor': {'type': 'model-field', 'schema': {'type': 'str'}}, 'extractor_version': {'type': 'model-field', 'schema': {'type': 'str'}}, 'vendor_metadata': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'extraction_warnings': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'instrument_id': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'specimen_id': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'label': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'label_source': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'function-after', 'function': {'type': 'no-info', 'function': attrgetter('value')}, 'schema': {'type': 'enum', 'cls': LabelSource, 'members': [LabelSource.folder, LabelSource.table, LabelSource.manual, LabelSource.predicted], 'sub_type': 'str'}}}, 'default': None}}, 'ingested_at': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'datetime', 'microseconds_precision': 'truncate'}}, 'default': None}}}, 'model_name': 'Image', 'computed_fields': []},
        {'serialize_by_alias': True, 'validate_by_name': True, 'validate_default': True, 'extra_fields_behavior': 'forbid', 'strict': False, 'title': 'Image'},
    )


class ImageFile(Record):
    """A path at which an image's bytes were seen; renamed copies are several files of one image."""

    __slots__ = ()
    model_fields: ClassVar[dict[str, None]] = dict.fromkeys(('path', 'image_sha256', 'size_bytes', 'modified_at', 'last_seen_at'))
    validator: ClassVar[SchemaValidator] = SchemaValidator(
        {'type': 'model-fields', 'fields': {'path': {'type': 'model-field', 'schema': {'type': 'str'}}, 'image_sha256': {'type': 'model-field', 'schema': {'type': 'str'}}, 'size_bytes': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'int', 'ge': 0}}, 'default': None}}, 'modified_at': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'datetime', 'microseconds_precision': 'truncate'}}, 'default': None}}, 'last_seen_at': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'datetime', 'microseconds_precision': 'truncate'}}, 'default': None}}}, 'model_name': 'ImageFile', 'computed_fields': []},
        {'serialize_by_alias': True, 'validate_by_name': True, 'validate_default': True, 'extra_fields_behavior': 'forbid', 'strict': False, 'title': 'ImageFile'},
    )


class FieldSource(Record):
    """Where a normalised value came from, the per-field trail."""

    __slots__ = ()
    model_fields: ClassVar[dict[str, None]] = dict.fromkeys(('image_sha256', 'slot_name', 'source_key', 'raw_value', 'conversion'))
    validator: ClassVar[SchemaValidator] = SchemaValidator(
        {'type': 'model-fields', 'fields': {'image_sha256': {'type': 'model-field', 'schema': {'type': 'str'}}, 'slot_name': {'type': 'model-field', 'schema': {'type': 'str'}}, 'source_key': {'type': 'model-field', 'schema': {'type': 'str'}}, 'raw_value': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}, 'conversion': {'type': 'model-field', 'schema': {'type': 'default', 'schema': {'type': 'nullable', 'schema': {'type': 'str'}}, 'default': None}}}, 'model_name': 'FieldSource', 'computed_fields': []},
        {'serialize_by_alias': True, 'validate_by_name': True, 'validate_default': True, 'extra_fields_behavior': 'forbid', 'strict': False, 'title': 'FieldSource'},
    )
