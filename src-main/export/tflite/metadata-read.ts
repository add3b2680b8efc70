/**
 * Reads the standard TFLite model metadata (`TFLITE_METADATA`: a `ModelMetadata` flatbuffer, file
 * identifier `M001`, defined by tensorflow/tflite-support's
 * tensorflow_lite_support/metadata/metadata_schema.fbs) from any converter's file, bounds-checked
 * like the model reader. Only the parts an image classifier uses: the first subgraph's input
 * (content type, colour space, default size, NormalizationOptions, Stats) and output (associated
 * files such as TENSOR_AXIS_LABELS, Stats).
 */
import { AssociatedFileType, ColorSpaceType, ContentProperties, METADATA_FILE_IDENTIFIER, MF, ProcessUnitOptions } from './schema';
import { rootTable, type FbTable } from './read';

export type ColorSpaceName = keyof typeof ColorSpaceType;
export type AssociatedFileTypeName = keyof typeof AssociatedFileType | `TYPE_${number}`;

export interface TensorMetadataInfo {
  name?: string;
  description?: string;
  content: 'image' | 'feature' | 'bounding-box' | 'none';
  /** ImageProperties.color_space, for image content. */
  colorSpace?: ColorSpaceName;
  /** ImageProperties.default_size. */
  imageSize?: { width: number; height: number };
  /** NormalizationOptions: the tensor holds (x − mean) / std of raw values x. */
  normalization?: { mean: number[]; std: number[] };
  /** Stats: per-channel min / max of the tensor's values. */
  stats?: { min: number[]; max: number[] };
  associatedFiles: { name: string; type: AssociatedFileTypeName; locale?: string }[];
}

export interface TfliteMetadataInfo {
  name?: string;
  description?: string;
  version?: string;
  author?: string;
  license?: string;
  minParserVersion?: string;
  inputs: TensorMetadataInfo[];
  outputs: TensorMetadataInfo[];
}

const COLOR_SPACES = Object.fromEntries(Object.entries(ColorSpaceType).map(([k, v]) => [v, k as ColorSpaceName]));
const FILE_TYPES = Object.fromEntries(Object.entries(AssociatedFileType).map(([k, v]) => [v, k as AssociatedFileTypeName]));

function tensorInfo(t: FbTable): TensorMetadataInfo {
  const info: TensorMetadataInfo = { content: 'none', associatedFiles: [] };
  const name = t.string(MF.TensorMetadata.name);
  const description = t.string(MF.TensorMetadata.description);
  if (name !== undefined) info.name = name;
  if (description !== undefined) info.description = description;
  const content = t.table(MF.TensorMetadata.content);
  if (content) {
    const type = content.uint8(MF.Content.content_properties_type);
    const props = content.table(MF.Content.content_properties);
    if (type === ContentProperties.ImageProperties) {
      info.content = 'image';
      if (props) {
        info.colorSpace = COLOR_SPACES[props.int8(MF.ImageProperties.color_space)] ?? 'UNKNOWN';
        const size = props.table(MF.ImageProperties.default_size);
        if (size) info.imageSize = { width: size.int32(MF.ImageSize.width) >>> 0, height: size.int32(MF.ImageSize.height) >>> 0 };
      }
    } else if (type === ContentProperties.FeatureProperties) info.content = 'feature';
    else if (type === ContentProperties.BoundingBoxProperties) info.content = 'bounding-box';
  }
  for (const unit of t.tables(MF.TensorMetadata.process_units)) {
    if (unit.uint8(MF.ProcessUnit.options_type) !== ProcessUnitOptions.NormalizationOptions) continue;
    const o = unit.table(MF.ProcessUnit.options);
    if (o) info.normalization = { mean: o.float32s(MF.NormalizationOptions.mean), std: o.float32s(MF.NormalizationOptions.std) };
  }
  const stats = t.table(MF.TensorMetadata.stats);
  if (stats) info.stats = { min: stats.float32s(MF.Stats.min), max: stats.float32s(MF.Stats.max) };
  for (const f of t.tables(MF.TensorMetadata.associated_files)) {
    const type = f.int8(MF.AssociatedFile.type);
    const locale = f.string(MF.AssociatedFile.locale);
    info.associatedFiles.push({ name: f.string(MF.AssociatedFile.name) ?? '', type: FILE_TYPES[type] ?? `TYPE_${type}`, ...(locale ? { locale } : {}) });
  }
  return info;
}

/** The metadata of a TFLITE_METADATA buffer, or null when it is not a readable ModelMetadata. */
export function readTfliteMetadata(data: Uint8Array): TfliteMetadataInfo | null {
  try {
    const m = rootTable(data, METADATA_FILE_IDENTIFIER);
    const sub = m.tables(MF.ModelMetadata.subgraph_metadata)[0];
    const out: TfliteMetadataInfo = {
      inputs: (sub?.tables(MF.SubGraphMetadata.input_tensor_metadata) ?? []).map(tensorInfo),
      outputs: (sub?.tables(MF.SubGraphMetadata.output_tensor_metadata) ?? []).map(tensorInfo),
    };
    const strings = { name: MF.ModelMetadata.name, description: MF.ModelMetadata.description, version: MF.ModelMetadata.version, author: MF.ModelMetadata.author, license: MF.ModelMetadata.license, minParserVersion: MF.ModelMetadata.min_parser_version } as const;
    for (const [key, slot] of Object.entries(strings) as [keyof typeof strings, number][]) {
      const v = m.string(slot);
      if (v !== undefined) out[key] = v;
    }
    return out;
  } catch {
    return null;
  }
}
