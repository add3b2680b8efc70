/** Small PNG data URLs for the dataset preview (the UI shows a few samples per class). */
import sharp from 'sharp';

/** Raw 8-bit pixels (HWC, 1 or 3 channels) -> PNG data URL, shrunk to fit `maxSide` if larger. */
export async function rawToPngDataUrl(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, maxSide = 64): Promise<string> {
  let img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels } });
  if (width > maxSide || height > maxSide) img = img.resize(maxSide, maxSide, { fit: 'inside' });
  const png = await img.png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** An image file -> PNG data URL thumbnail (orientation applied, fits `maxSide`). */
export async function fileToPngDataUrl(file: string | Buffer, maxSide = 64): Promise<string> {
  const png = await sharp(file).autoOrient().resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
