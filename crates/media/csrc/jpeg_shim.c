/*
 * A thin layer over the system's libjpeg(-turbo) for tantalum-media.
 *
 * Why C: libjpeg reports fatal errors by calling error_exit, which must not
 * return. The only safe way out is longjmp, and longjmp must never cross Rust
 * frames, so every libjpeg call and its setjmp live here, and Rust sees plain
 * return codes.
 *
 * Why sample while decoding: Meta's reference hashes an image larger than
 * 512 on a side after a nearest-neighbour resize to 512x512. Decoding row by
 * row and keeping only the rows and columns that resize picks avoids ever
 * holding the full image (tens of MB for a phone photo).
 *
 * Why the CMYK arithmetic: the reference decodes through ImageMagick, which
 * reads CMYK JPEGs as Adobe-inverted CMYK at 16 bits and converts them to RGB
 * in double precision before writing 8-bit PNM. The conversion below repeats
 * those steps so CMYK JPEGs hash exactly as the reference hashes them.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define TSH_OK 0
#define TSH_ERR_DECODE 1
#define TSH_ERR_TRUNCATED 2
#define TSH_ERR_ALLOC 3
#define TSH_FALLBACK 4

struct tsh_error_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  int truncated;
  char *msg;
  size_t msg_len;
};

static void tsh_error_exit(j_common_ptr cinfo) {
  struct tsh_error_mgr *err = (struct tsh_error_mgr *)cinfo->err;
  if (err->msg && err->msg_len) {
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    snprintf(err->msg, err->msg_len, "%s", buffer);
  }
  longjmp(err->jump, 1);
}

/* Warnings are not printed (a library must not write to stderr); a premature
 * end of data is remembered so the caller can report a truncated file. */
static void tsh_emit_message(j_common_ptr cinfo, int msg_level) {
  struct tsh_error_mgr *err = (struct tsh_error_mgr *)cinfo->err;
  if (msg_level < 0) {
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
      err->truncated = 1;
    }
    cinfo->err->num_warnings++;
  }
}

static void tsh_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void tsh_setup(struct jpeg_decompress_struct *cinfo, struct tsh_error_mgr *err, char *msg,
                      size_t msg_len) {
  cinfo->err = jpeg_std_error(&err->pub);
  err->pub.error_exit = tsh_error_exit;
  err->pub.emit_message = tsh_emit_message;
  err->pub.output_message = tsh_output_message;
  err->truncated = 0;
  err->msg = msg;
  err->msg_len = msg_len;
  if (msg && msg_len) msg[0] = 0;
}

/* Reads the header only. Components out: 1 grey, 3 colour, 4 CMYK/YCCK. */
int tsh_jpeg_header(const uint8_t *data, size_t len, uint32_t *width, uint32_t *height,
                    int *components, char *msg, size_t msg_len) {
  struct jpeg_decompress_struct cinfo;
  struct tsh_error_mgr err;
  tsh_setup(&cinfo, &err, msg, msg_len);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return TSH_ERR_DECODE;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  *width = cinfo.image_width;
  *height = cinfo.image_height;
  *components = cinfo.num_components;
  jpeg_destroy_decompress(&cinfo);
  return TSH_OK;
}

/* ImageMagick Q16: ScaleCharToQuantum, the CMYK->RGB conversion in double,
 * ClampToQuantum, then ScaleQuantumToChar for 8-bit PNM output. */
static uint8_t tsh_cmyk_channel(uint8_t stored_ink, uint8_t stored_black) {
  const double range = 65535.0;
  const double scale = 1.0 / 65535.0;
  double ink = range - 257.0 * stored_ink;
  double black = range - 257.0 * stored_black;
  double value = range - (scale * ink * (range - black) + black);
  unsigned long q;
  if (value <= 0.0) {
    q = 0;
  } else if (value >= range) {
    q = 65535;
  } else {
    q = (unsigned long)(value + 0.5);
  }
  return (uint8_t)(((q + 128UL) - ((q + 128UL) >> 8)) >> 8);
}

/*
 * Decodes and samples by nearest neighbour: output pixel (x, y) is source
 * pixel (floor(x*W/out_w), floor(y*H/out_h)). Writes out_w*out_h RGB triples
 * (grey images replicated into three channels). *all_grey is set when every
 * source pixel has R == G == B, which is when ImageMagick writes a grey PNM
 * and the reference takes its grey path.
 */
static int tsh_decode_full(const uint8_t *data, size_t len, uint32_t out_w, uint32_t out_h,
                            uint8_t *out, int *all_grey, char *msg, size_t msg_len) {
  struct jpeg_decompress_struct cinfo;
  struct tsh_error_mgr err;
  JSAMPLE *volatile row = NULL;
  uint32_t *volatile xmap = NULL;
  tsh_setup(&cinfo, &err, msg, msg_len);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(row);
    free(xmap);
    return TSH_ERR_DECODE;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);

  int cmyk = 0;
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo.out_color_space = JCS_CMYK;
      cmyk = 1;
      break;
    default:
      cinfo.out_color_space = JCS_RGB;
      break;
  }
  jpeg_start_decompress(&cinfo);

  const uint32_t width = cinfo.output_width;
  const uint32_t height = cinfo.output_height;
  const int channels = cinfo.output_components;
  row = (JSAMPLE *)malloc((size_t)width * (size_t)channels);
  xmap = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)out_w);
  if (!row || !xmap) {
    jpeg_destroy_decompress(&cinfo);
    free(row);
    free(xmap);
    return TSH_ERR_ALLOC;
  }
  for (uint32_t x = 0; x < out_w; x++) {
    xmap[x] = (uint32_t)(((uint64_t)x * width) / out_w);
  }

  int grey = channels == 1;
  uint32_t next_out_row = 0;
  for (uint32_t y = 0; y < height; y++) {
    JSAMPROW rows[1] = {row};
    if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
      /* Only a suspending source returns 0; a memory source never suspends. */
      break;
    }
    if (cmyk) {
      /* Convert in place, CMYK (4 bytes) -> RGB (first 3 bytes of each 4). */
      for (uint32_t x = 0; x < width; x++) {
        JSAMPLE *p = row + 4 * (size_t)x;
        uint8_t r = tsh_cmyk_channel(p[0], p[3]);
        uint8_t g = tsh_cmyk_channel(p[1], p[3]);
        uint8_t b = tsh_cmyk_channel(p[2], p[3]);
        p[0] = r;
        p[1] = g;
        p[2] = b;
      }
    }
    if (!grey && channels != 1 && *all_grey) {
      const size_t step = cmyk ? 4 : 3;
      for (uint32_t x = 0; x < width; x++) {
        const JSAMPLE *p = row + step * (size_t)x;
        if (p[0] != p[1] || p[1] != p[2]) {
          *all_grey = 0;
          break;
        }
      }
    }
    while (next_out_row < out_h && ((uint64_t)next_out_row * height) / out_h == y) {
      uint8_t *dst = out + (size_t)next_out_row * out_w * 3;
      if (channels == 1) {
        for (uint32_t x = 0; x < out_w; x++) {
          uint8_t v = row[xmap[x]];
          dst[3 * x] = v;
          dst[3 * x + 1] = v;
          dst[3 * x + 2] = v;
        }
      } else {
        const size_t step = cmyk ? 4 : 3;
        for (uint32_t x = 0; x < out_w; x++) {
          const JSAMPLE *p = row + step * (size_t)xmap[x];
          dst[3 * x] = p[0];
          dst[3 * x + 1] = p[1];
          dst[3 * x + 2] = p[2];
        }
      }
      next_out_row++;
    }
  }
  if (channels == 1) *all_grey = 1;
  int truncated = err.truncated || cinfo.output_scanline < height;
  if (!truncated) {
    jpeg_finish_decompress(&cinfo);
    truncated = err.truncated;
  }
  jpeg_destroy_decompress(&cinfo);
  free(row);
  free(xmap);
  return truncated ? TSH_ERR_TRUNCATED : TSH_OK;
}

/*
 * The fast path for YCbCr JPEGs with 4:2:0 or 4:4:4 sampling, which is nearly
 * every photo. libjpeg hands over the component planes after the IDCT
 * (raw_data_out), and the chroma upsampling and colour conversion, which
 * libjpeg would run over every pixel, run here over the sampled pixels only.
 * Both repeat libjpeg-turbo's arithmetic exactly: "fancy" triangular
 * upsampling (jdsample.c h2v2_fancy_upsample, with the first and last real
 * rows and columns repeated at the edges as jdmainct.c does) and the
 * fixed-point YCbCr->RGB tables of jdcolor.c, whose SIMD versions produce the
 * same output.
 *
 * Returns TSH_FALLBACK, having written nothing useful, when the image is of
 * another kind, or when it cannot tell cheaply whether every pixel is grey
 * (all sampled pixels grey but some chroma not neutral): the caller then
 * uses tsh_decode_full.
 */
#define TSH_SCALEBITS 16
#define TSH_ONE_HALF ((long)1 << (TSH_SCALEBITS - 1))
#define TSH_FIX(x) ((long)((x) * (1L << TSH_SCALEBITS) + 0.5))

static inline uint8_t tsh_clamp(int v) { return (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v)); }

static int tsh_decode_fast(const uint8_t *data, size_t len, uint32_t out_w, uint32_t out_h,
                                uint8_t *out, int *all_grey, char *msg, size_t msg_len) {
  struct jpeg_decompress_struct cinfo;
  struct tsh_error_mgr err;
  uint8_t *volatile chroma = NULL;
  JSAMPLE *volatile rows_mem = NULL;
  uint32_t *volatile xmap = NULL;
  tsh_setup(&cinfo, &err, msg, msg_len);
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(chroma);
    free(rows_mem);
    free(xmap);
    return TSH_ERR_DECODE;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);

  jpeg_component_info *comp = cinfo.comp_info;
  int subsampled;
  if (cinfo.jpeg_color_space != JCS_YCbCr || cinfo.num_components != 3 || comp[1].h_samp_factor != 1 ||
      comp[1].v_samp_factor != 1 || comp[2].h_samp_factor != 1 || comp[2].v_samp_factor != 1) {
    jpeg_destroy_decompress(&cinfo);
    return TSH_FALLBACK;
  }
  if (comp[0].h_samp_factor == 2 && comp[0].v_samp_factor == 2) {
    subsampled = 1;
  } else if (comp[0].h_samp_factor == 1 && comp[0].v_samp_factor == 1) {
    subsampled = 0;
  } else {
    jpeg_destroy_decompress(&cinfo);
    return TSH_FALLBACK;
  }
  cinfo.raw_data_out = TRUE;
  cinfo.out_color_space = JCS_YCbCr;
  jpeg_start_decompress(&cinfo);

  const uint32_t width = cinfo.output_width;
  const uint32_t height = cinfo.output_height;
  const uint32_t cw = comp[1].downsampled_width;
  const uint32_t ch = comp[1].downsampled_height;
  /* libjpeg upsamples 2x2 chroma with the box filter, not the triangle, when
   * the chroma is at most 2 samples wide; leave such slivers to libjpeg. */
  if (subsampled && cw <= 2) {
    jpeg_destroy_decompress(&cinfo);
    return TSH_FALLBACK;
  }
  const int group_rows = cinfo.max_v_samp_factor * DCTSIZE;
  JSAMPROW row_ptrs[3][2 * DCTSIZE];
  JSAMPARRAY planes[3] = {row_ptrs[0], row_ptrs[1], row_ptrs[2]};
  size_t stride[3], offset[3], total = 0;
  for (int c = 0; c < 3; c++) {
    stride[c] = (size_t)comp[c].width_in_blocks * DCTSIZE;
    offset[c] = total;
    total += stride[c] * (size_t)comp[c].v_samp_factor * DCTSIZE;
  }
  rows_mem = (JSAMPLE *)malloc(total);
  chroma = (uint8_t *)malloc((size_t)cw * ch * 2);
  xmap = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)out_w);
  if (!rows_mem || !chroma || !xmap) {
    jpeg_destroy_decompress(&cinfo);
    free(chroma);
    free(rows_mem);
    free(xmap);
    return TSH_ERR_ALLOC;
  }
  for (int c = 0; c < 3; c++) {
    for (int r = 0; r < comp[c].v_samp_factor * DCTSIZE; r++) {
      row_ptrs[c][r] = rows_mem + offset[c] + stride[c] * (size_t)r;
    }
  }
  for (uint32_t x = 0; x < out_w; x++) {
    xmap[x] = (uint32_t)(((uint64_t)x * width) / out_w);
  }
  uint8_t *cb_plane = chroma;
  uint8_t *cr_plane = chroma + (size_t)cw * ch;

  int neutral = 1; /* every chroma sample is 128: the image is grey */
  uint32_t next_out_row = 0;
  uint32_t chroma_row = 0;
  while (cinfo.output_scanline < height) {
    const uint32_t y0 = cinfo.output_scanline;
    if (jpeg_read_raw_data(&cinfo, planes, (JDIMENSION)group_rows) == 0) break;
    const uint32_t y_end = y0 + (uint32_t)group_rows < height ? y0 + (uint32_t)group_rows : height;
    while (next_out_row < out_h && ((uint64_t)next_out_row * height) / out_h < y_end) {
      const uint32_t y = (uint32_t)(((uint64_t)next_out_row * height) / out_h);
      const JSAMPLE *luma = row_ptrs[0][y - y0];
      uint8_t *dst = out + (size_t)next_out_row * out_w * 3;
      for (uint32_t x = 0; x < out_w; x++) dst[3 * x] = luma[xmap[x]];
      next_out_row++;
    }
    for (int r = 0; r < DCTSIZE && chroma_row < ch; r++, chroma_row++) {
      uint8_t *cb = cb_plane + (size_t)chroma_row * cw;
      uint8_t *cr = cr_plane + (size_t)chroma_row * cw;
      memcpy(cb, row_ptrs[1][r], cw);
      memcpy(cr, row_ptrs[2][r], cw);
      if (neutral) {
        for (uint32_t x = 0; x < cw; x++) {
          if (cb[x] != 128 || cr[x] != 128) {
            neutral = 0;
            break;
          }
        }
      }
    }
  }
  int truncated = err.truncated || cinfo.output_scanline < height;
  if (!truncated) {
    jpeg_finish_decompress(&cinfo);
    truncated = err.truncated;
  }
  jpeg_destroy_decompress(&cinfo);
  free(rows_mem);
  if (truncated) {
    free(chroma);
    free(xmap);
    return TSH_ERR_TRUNCATED;
  }

  int Cr_r[256], Cb_b[256];
  long Cr_g[256], Cb_g[256];
  for (int i = 0; i < 256; i++) {
    long x = i - 128;
    Cr_r[i] = (int)((TSH_FIX(1.40200) * x + TSH_ONE_HALF) >> TSH_SCALEBITS);
    Cb_b[i] = (int)((TSH_FIX(1.77200) * x + TSH_ONE_HALF) >> TSH_SCALEBITS);
    Cr_g[i] = (-TSH_FIX(0.71414)) * x;
    Cb_g[i] = (-TSH_FIX(0.34414)) * x + TSH_ONE_HALF;
  }

  /* Per output column: the chroma column, its second-nearest neighbour and
   * the rounding bias, so the pixel loop has no branches. */
  uint32_t *cx = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)out_w * 3);
  if (!cx) {
    free(chroma);
    free(xmap);
    return TSH_ERR_ALLOC;
  }
  uint32_t *cn = cx + out_w, *cbias = cx + 2 * (size_t)out_w;
  for (uint32_t x = 0; x < out_w; x++) {
    const uint32_t sx = xmap[x];
    if (!subsampled) {
      cx[x] = cn[x] = sx;
      cbias[x] = 0;
    } else if (sx & 1) {
      cx[x] = sx >> 1;
      cn[x] = (sx >> 1) + 1 < cw ? (sx >> 1) + 1 : cw - 1;
      cbias[x] = 7;
    } else {
      cx[x] = sx >> 1;
      cn[x] = (sx >> 1) > 0 ? (sx >> 1) - 1 : 0;
      cbias[x] = 8;
    }
  }

  int colour_seen = 0;
  for (uint32_t r = 0; r < out_h; r++) {
    const uint32_t sy = (uint32_t)(((uint64_t)r * height) / out_h);
    uint8_t *dst = out + (size_t)r * out_w * 3;
    uint32_t cy = sy, ny = sy;
    if (subsampled) {
      cy = sy >> 1;
      ny = (sy & 1) ? (cy + 1 < ch ? cy + 1 : ch - 1) : (cy > 0 ? cy - 1 : 0);
    }
    const uint8_t *cb0 = cb_plane + (size_t)cy * cw, *cb1 = cb_plane + (size_t)ny * cw;
    const uint8_t *cr0 = cr_plane + (size_t)cy * cw, *cr1 = cr_plane + (size_t)ny * cw;
    for (uint32_t x = 0; x < out_w; x++) {
      int cb, cr;
      if (subsampled) {
        const uint32_t c = cx[x], nb = cn[x];
        const int bias = (int)cbias[x];
        cb = ((cb0[c] * 3 + cb1[c]) * 3 + cb0[nb] * 3 + cb1[nb] + bias) >> 4;
        cr = ((cr0[c] * 3 + cr1[c]) * 3 + cr0[nb] * 3 + cr1[nb] + bias) >> 4;
      } else {
        cb = cb0[cx[x]];
        cr = cr0[cx[x]];
      }
      const int y = dst[3 * x];
      const uint8_t red = tsh_clamp(y + Cr_r[cr]);
      const uint8_t green = tsh_clamp(y + (int)((Cb_g[cb] + Cr_g[cr]) >> TSH_SCALEBITS));
      const uint8_t blue = tsh_clamp(y + Cb_b[cb]);
      dst[3 * x] = red;
      dst[3 * x + 1] = green;
      dst[3 * x + 2] = blue;
      colour_seen |= (red ^ green) | (green ^ blue);
    }
  }
  free(cx);
  free(chroma);
  free(xmap);
  if (neutral) {
    *all_grey = 1;
  } else if (colour_seen) {
    *all_grey = 0;
  } else {
    return TSH_FALLBACK;
  }
  return TSH_OK;
}

/* The entry point. mode TSH_MODE_AUTO takes the fast path where it applies
 * and libjpeg's own conversion otherwise; the other two modes exist so tests
 * can hold each path against the other. */
#define TSH_MODE_AUTO 0
#define TSH_MODE_FULL 1
#define TSH_MODE_FAST 2
int tsh_jpeg_decode(const uint8_t *data, size_t len, uint32_t out_w, uint32_t out_h, uint8_t *out, int *all_grey,
                    char *msg, size_t msg_len, int mode) {
  int rc = TSH_FALLBACK;
  if (mode != TSH_MODE_FULL) {
    *all_grey = 1;
    rc = tsh_decode_fast(data, len, out_w, out_h, out, all_grey, msg, msg_len);
  }
  if (rc == TSH_FALLBACK && mode != TSH_MODE_FAST) {
    *all_grey = 1;
    rc = tsh_decode_full(data, len, out_w, out_h, out, all_grey, msg, msg_len);
  }
  return rc;
}

/* Encodes 8-bit RGB as a baseline JPEG with 4:2:0 chroma, as phone cameras
 * and messengers do. Used to make synthetic test and demo media. The buffer
 * is malloc'd by libjpeg and released with tsh_free. */
int tsh_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality, uint8_t **out,
                    unsigned long *out_len, char *msg, size_t msg_len) {
  struct jpeg_compress_struct cinfo;
  struct tsh_error_mgr err;
  memset(&err, 0, sizeof err);
  err.msg = msg;
  err.msg_len = msg_len;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = tsh_error_exit;
  err.pub.emit_message = tsh_emit_message;
  err.pub.output_message = tsh_output_message;
  *out = NULL;
  *out_len = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    if (*out) {
      free(*out);
      *out = NULL;
    }
    return TSH_ERR_DECODE;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_len);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * width * 3);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return TSH_OK;
}

void tsh_free(void *p) { free(p); }
