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
int tsh_jpeg_decode_sampled(const uint8_t *data, size_t len, uint32_t out_w, uint32_t out_h,
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
