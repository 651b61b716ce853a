// Reference output of dlib's frontal HOG face detector for facekit's tests and benchmarks.
//
//   hog_reference detect [--repeat N] name=file.png ...   detections at upsample 0 and 1 as JSON
//   hog_reference fhog file.png                           FHOG planes, pyramid_down<6> and
//                                                         pyramid_up images of one small image
//
// Detection follows face_recognition's path (dlib's Python binding run_detector_with_upscale):
// upsample 0 runs the detector on the image; upsample n first applies pyramid_up (pyramid_down<2>)
// n times, then maps each box back with rect_down(rect, n). adjust_threshold is 0, and the score is
// rect_detection::detection_confidence. --repeat times each call N times and reports the median.
#include <dlib/image_io.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace dlib;

namespace {

std::vector<rect_detection> detect_upsampled(frontal_face_detector& detector, const array2d<rgb_pixel>& img,
                                             unsigned int upsample) {
  std::vector<rect_detection> dets;
  if (upsample == 0) {
    detector(img, dets, 0.0);
    return dets;
  }
  pyramid_down<2> pyr;
  array2d<rgb_pixel> temp;
  pyramid_up(img, temp, pyr);
  for (unsigned int i = 1; i < upsample; ++i) pyramid_up(temp);
  detector(temp, dets, 0.0);
  for (auto& d : dets) d.rect = pyr.rect_down(d.rect, upsample);
  return dets;
}

void print_detections(const std::vector<rect_detection>& dets) {
  std::printf("[");
  for (size_t i = 0; i < dets.size(); ++i) {
    const auto& d = dets[i];
    std::printf("%s{\"left\":%ld,\"top\":%ld,\"right\":%ld,\"bottom\":%ld,\"score\":%.9g,\"filter\":%lu}",
                i ? "," : "", d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), d.detection_confidence,
                d.weight_index);
  }
  std::printf("]");
}

int run_detect(int argc, char** argv) {
  int repeat = 1;
  int first = 2;
  if (argc > 3 && std::strcmp(argv[2], "--repeat") == 0) {
    repeat = std::max(1, std::atoi(argv[3]));
    first = 4;
  }
  frontal_face_detector detector = get_frontal_face_detector();
  std::printf("{\"repeat\":%d,\"images\":[\n", repeat);
  for (int a = first; a < argc; ++a) {
    const std::string arg = argv[a];
    const size_t eq = arg.find('=');
    const std::string name = eq == std::string::npos ? arg : arg.substr(0, eq);
    const std::string path = eq == std::string::npos ? arg : arg.substr(eq + 1);
    array2d<rgb_pixel> img;
    load_image(img, path);
    std::printf("%s{\"name\":\"%s\",\"width\":%ld,\"height\":%ld", a > first ? ",\n" : "", name.c_str(), img.nc(),
                img.nr());
    for (unsigned int up = 0; up <= 1; ++up) {
      std::vector<rect_detection> dets;
      std::vector<double> ms;
      for (int k = 0; k < repeat; ++k) {
        const auto t0 = std::chrono::steady_clock::now();
        dets = detect_upsampled(detector, img, up);
        const auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::printf(",\"upsample%u\":{\"ms\":%.3f,\"detections\":", up, ms[ms.size() / 2]);
      print_detections(dets);
      std::printf("}");
    }
    std::printf("}");
  }
  std::printf("\n]}\n");
  return 0;
}

void print_rgb(const array2d<rgb_pixel>& img) {
  std::printf("{\"width\":%ld,\"height\":%ld,\"data\":[", img.nc(), img.nr());
  for (long r = 0; r < img.nr(); ++r)
    for (long c = 0; c < img.nc(); ++c)
      std::printf("%s%d,%d,%d", (r || c) ? "," : "", img[r][c].red, img[r][c].green, img[r][c].blue);
  std::printf("]}");
}

int run_fhog(const char* path) {
  array2d<rgb_pixel> img;
  load_image(img, path);
  // The paddings the frontal detector's scanner uses: its 10x10-cell filter.
  const int padding = 10;
  dlib::array<array2d<float>> hog;
  extract_fhog_features(img, hog, 8, padding, padding);
  std::printf("{\"cellSize\":8,\"padding\":%d,\"rows\":%ld,\"cols\":%ld,\"planes\":[", padding,
              hog.size() ? hog[0].nr() : 0L, hog.size() ? hog[0].nc() : 0L);
  for (size_t p = 0; p < hog.size(); ++p) {
    std::printf("%s[", p ? "," : "");
    for (long r = 0; r < hog[p].nr(); ++r)
      for (long c = 0; c < hog[p].nc(); ++c) std::printf("%s%.9g", (r || c) ? "," : "", hog[p][r][c]);
    std::printf("]");
  }
  std::printf("],\n\"pyramidDown\":");
  array2d<rgb_pixel> down;
  pyramid_down<6> pyr6;
  pyr6(img, down);
  print_rgb(down);
  std::printf(",\n\"pyramidUp\":");
  array2d<rgb_pixel> up;
  pyramid_down<2> pyr2;
  pyramid_up(img, up, pyr2);
  print_rgb(up);
  std::printf("}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "detect") == 0) return run_detect(argc, argv);
  if (argc == 3 && std::strcmp(argv[1], "fhog") == 0) return run_fhog(argv[2]);
  std::fprintf(stderr, "usage: hog_reference detect [--repeat N] name=file.png ... | fhog file.png\n");
  return 2;
}
