// Writes dlib's frontal HOG face detector (get_frontal_face_detector()) as plain data that
// facekit reads: scanner parameters, the NMS tester's thresholds, and per filter its bias and
// the filter bank exactly as dlib scores with it (the full 10x10x31 filter and its separable
// rank-k approximation, plus which of the two dlib's scan_fhog_pyramid applies).
//
// Build: see README.md. Run: ./hog_export > weights.json
#include <dlib/image_processing/frontal_face_detector.h>

#include <cstdio>
#include <iostream>

using namespace dlib;

namespace {

void print_floats(const matrix<float>& m) {
  std::printf("[");
  for (long r = 0; r < m.nr(); ++r)
    for (long c = 0; c < m.nc(); ++c) std::printf("%s%.9g", (r || c) ? "," : "", m(r, c));
  std::printf("]");
}

void print_vector(const matrix<float, 0, 1>& v) {
  std::printf("[");
  for (long i = 0; i < v.size(); ++i) std::printf("%s%.9g", i ? "," : "", v(i));
  std::printf("]");
}

}  // namespace

int main() {
  frontal_face_detector detector = get_frontal_face_detector();
  const auto& scanner = detector.get_scanner();
  const auto& tester = detector.get_overlap_tester();
  const long dims = scanner.get_num_dimensions();

  std::printf("{\n");
  std::printf("\"cellSize\":%lu,\n", scanner.get_cell_size());
  std::printf("\"windowWidth\":%lu,\"windowHeight\":%lu,\n", scanner.get_detection_window_width(),
              scanner.get_detection_window_height());
  std::printf("\"filterWidth\":%lu,\"filterHeight\":%lu,\n", scanner.get_fhog_window_width(),
              scanner.get_fhog_window_height());
  std::printf("\"padding\":%lu,\n", scanner.get_padding());
  std::printf("\"maxPyramidLevels\":%lu,\n", scanner.get_max_pyramid_levels());
  std::printf("\"minPyramidLayerWidth\":%lu,\"minPyramidLayerHeight\":%lu,\n",
              scanner.get_min_pyramid_layer_width(), scanner.get_min_pyramid_layer_height());
  std::printf("\"nuclearNormRegularizationStrength\":%.17g,\n",
              scanner.get_nuclear_norm_regularization_strength());
  std::printf("\"nmsIouThreshold\":%.17g,\"nmsPercentCoveredThreshold\":%.17g,\n", tester.get_iou_thresh(),
              tester.get_percent_covered_thresh());
  std::printf("\"filters\":[\n");
  for (unsigned long i = 0; i < detector.num_detectors(); ++i) {
    const auto& w = detector.get_w(i);
    const auto bank = scanner.build_fhog_filterbank(w);
    // dlib's apply_filters_to_fhog: the full filters when the separable ones would be slower.
    const bool separable =
        !(bank.num_separable_filters() >
          bank.filters.size() * std::min(bank.filters[0].nr(), bank.filters[0].nc()) / 3.0);
    std::printf("%s{\"threshold\":%.17g,\"separable\":%s,\n\"planes\":[\n", i ? ",\n" : "", w(dims),
                separable ? "true" : "false");
    for (unsigned long p = 0; p < bank.filters.size(); ++p) {
      std::printf("%s{\"full\":", p ? ",\n" : "");
      print_floats(bank.filters[p]);
      std::printf(",\"rows\":[");
      for (unsigned long j = 0; j < bank.row_filters[p].size(); ++j) {
        if (j) std::printf(",");
        print_vector(bank.row_filters[p][j]);
      }
      std::printf("],\"cols\":[");
      for (unsigned long j = 0; j < bank.col_filters[p].size(); ++j) {
        if (j) std::printf(",");
        print_vector(bank.col_filters[p][j]);
      }
      std::printf("]}");
    }
    std::printf("]}");
    std::fprintf(stderr, "filter %lu: threshold %g, %lu separable filters, %s path\n", i, w(dims),
                 bank.num_separable_filters(), separable ? "separable" : "full");
  }
  std::printf("]\n}\n");
  return 0;
}
