// dlib's own MMOD face detections, for facekit's reference tests and benchmarks.
//
//   mmod_reference detect <model.dat> <out.json> <repeat> <image>...
//     For every image and upsample 0 and 1: the boxes and detection_confidence exactly as
//     face_recognition's face_locations(model="cnn") gets them from dlib's Python binding
//     (cnn_face_detection_model_v1: pyramid_up with pyramid_down<2> `upsample` times, net(image),
//     then rect_down back to the original image), and the best of `repeat` wall-clock times of
//     that whole call, wall-clock and process CPU time (one thread: run with OPENBLAS_NUM_THREADS=1 /
//     OMP_NUM_THREADS=1).
//
//   mmod_reference tensors <model.dat> <out.json> <image>
//     The tiled pyramid tensor dlib's input layer makes of the image (to_tensor), the tile
//     rectangles, and the network's output score map: what facekit's tiling and ONNX graph are
//     compared with, element for element.
//
// Images are read with dlib's load_image (use PNG so that no JPEG decoder differences enter).

#include <dlib/image_io.h>
#include <dlib/revision.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "mmod_common.h"

namespace {

using image = dlib::matrix<dlib::rgb_pixel>;

// What dlib's Python binding does in cnn_face_detection_model_v1::detect().
std::vector<dlib::mmod_rect> detect_like_python(mmod::net_type& net, image img, unsigned upsample) {
    dlib::pyramid_down<2> pyr;
    for (unsigned i = 0; i < upsample; ++i) dlib::pyramid_up(img, pyr);
    auto dets = net(img);
    for (auto& d : dets) d.rect = pyr.rect_down(d.rect, upsample);
    return dets;
}

std::string file_name(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

int detect(mmod::net_type& net, const std::string& out_path, int repeat, const std::vector<std::string>& images) {
    std::ofstream out(out_path);
    out << std::setprecision(9);
    out << "{\n  \"tool\": \"tools/dlib-export/mmod_reference.cpp\",\n  \"dlibVersion\": \"" << DLIB_MAJOR_VERSION
        << "." << DLIB_MINOR_VERSION << "\",\n  \"images\": [\n";
    for (size_t i = 0; i < images.size(); ++i) {
        image img;
        dlib::load_image(img, images[i]);
        out << "    {\"file\": \"" << file_name(images[i]) << "\", \"width\": " << img.nc() << ", \"height\": " << img.nr()
            << ", \"runs\": [\n";
        for (unsigned upsample = 0; upsample <= 1; ++upsample) {
            std::vector<dlib::mmod_rect> dets;
            double best_ms = 1e300, best_cpu_ms = 1e300;
            for (int r = 0; r < repeat; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                const std::clock_t c0 = std::clock();
                dets = detect_like_python(net, img, upsample);
                const std::clock_t c1 = std::clock();
                const auto t1 = std::chrono::steady_clock::now();
                best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(t1 - t0).count());
                best_cpu_ms = std::min(best_cpu_ms, 1000.0 * static_cast<double>(c1 - c0) / CLOCKS_PER_SEC);
            }
            // Wall time, and the process's CPU time: on a shared machine the second is the one that
            // does not count the time spent waiting for a core.
            out << "      {\"upsample\": " << upsample << ", \"ms\": " << std::setprecision(6) << best_ms
                << ", \"cpuMs\": " << best_cpu_ms << std::setprecision(9) << ", \"detections\": [";
            for (size_t d = 0; d < dets.size(); ++d) {
                const auto& r = dets[d].rect;
                out << (d ? ", " : "") << "\n        {\"left\": " << r.left() << ", \"top\": " << r.top()
                    << ", \"right\": " << r.right() << ", \"bottom\": " << r.bottom()
                    << ", \"confidence\": " << dets[d].detection_confidence << "}";
            }
            out << (dets.empty() ? "" : "\n      ") << "]}" << (upsample == 0 ? ",\n" : "\n");
            std::cerr << file_name(images[i]) << " upsample " << upsample << ": " << dets.size() << " faces, "
                      << best_ms << " ms\n";
        }
        out << "    ]}" << (i + 1 < images.size() ? ",\n" : "\n");
    }
    out << "  ]\n}\n";
    return 0;
}

void write_floats(std::ostream& out, const float* p, size_t n) {
    out << "[";
    for (size_t i = 0; i < n; ++i) out << (i ? "," : "") << p[i];
    out << "]";
}

int tensors(mmod::net_type& net, const std::string& out_path, const std::string& image_path) {
    image img;
    dlib::load_image(img, image_path);
    dlib::resizable_tensor input;
    net.to_tensor(&img, &img + 1, input);
    const auto& rects = input.annotation().get<std::vector<dlib::rectangle>>();
    net.subnet().forward(input);
    const dlib::tensor& scores = net.subnet().get_output();

    std::ofstream out(out_path);
    out << std::setprecision(8);
    out << "{\n  \"tool\": \"tools/dlib-export/mmod_reference.cpp tensors\",\n  \"file\": \"" << file_name(image_path)
        << "\", \"width\": " << img.nc() << ", \"height\": " << img.nr() << ",\n  \"tiles\": [";
    for (size_t i = 0; i < rects.size(); ++i)
        out << (i ? ", " : "") << "{\"left\": " << rects[i].left() << ", \"top\": " << rects[i].top()
            << ", \"right\": " << rects[i].right() << ", \"bottom\": " << rects[i].bottom() << "}";
    out << "],\n  \"input\": {\"channels\": " << input.k() << ", \"rows\": " << input.nr() << ", \"cols\": " << input.nc()
        << ", \"data\": ";
    write_floats(out, input.host(), input.size());
    out << "},\n  \"scores\": {\"rows\": " << scores.nr() << ", \"cols\": " << scores.nc() << ", \"data\": ";
    write_floats(out, scores.host(), scores.size());
    out << "}\n}\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "detect" && argc >= 6) {
        mmod::net_type net;
        dlib::deserialize(argv[2]) >> net;
        return detect(net, argv[3], std::max(1, std::atoi(argv[4])), std::vector<std::string>(argv + 5, argv + argc));
    }
    if (mode == "tensors" && argc == 5) {
        mmod::net_type net;
        dlib::deserialize(argv[2]) >> net;
        return tensors(net, argv[3], argv[4]);
    }
    std::cerr << "usage: mmod_reference detect <model.dat> <out.json> <repeat> <image>...\n"
                 "       mmod_reference tensors <model.dat> <out.json> <image>\n";
    return 2;
} catch (const std::exception& e) {
    std::cerr << "mmod_reference: " << e.what() << "\n";
    return 1;
}
