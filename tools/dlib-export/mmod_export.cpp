// Writes dlib's MMOD face detector (mmod_human_face_detector.dat) out in a plain format facekit
// reads: one little-endian float32 file with every layer's parameters back to back, a tfjs-style
// manifest naming them (name, shape) in file order, and a JSON file with the network's layer
// geometry, the input layer's settings and the loss layer's options.
//
//   mmod_export <mmod_human_face_detector.dat> <out-dir>
//
// Writes <out-dir>/mmod_human_face_detector.bin, ..._manifest.json and ..._options.json.
// Layouts: convolution filters [out, in, rows, cols] (dlib's and ONNX's order), biases [out];
// affine layers (dlib's batch norm frozen for inference) gamma [channels], beta [channels].

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mmod_common.h"

namespace {

struct Tensor {
    std::string name;
    std::vector<long> shape;
    std::vector<float> data;
};

struct LayerGeometry {
    std::string type;  // "con", "affine" or "relu"
    long filters = 0, rows = 0, cols = 0, stride_y = 0, stride_x = 0, pad_y = 0, pad_x = 0;
};

// dlib's visitor walks from the loss layer down to the input; both lists are reversed afterwards
// so that they read in the order the data flows.
struct Collector {
    std::vector<LayerGeometry>* layers;
    std::vector<Tensor>* tensors;

    template <long nf, long nr, long nc, int sy, int sx, int py, int px>
    void operator()(dlib::con_<nf, nr, nc, sy, sx, py, px>& l) const {
        const dlib::tensor& params = l.get_layer_params();
        const long per_filter = (static_cast<long>(params.size()) - nf) / nf;
        const long channels_in = per_filter / (nr * nc);
        if (l.bias_is_disabled()) throw std::runtime_error("a convolution without bias is not expected here");
        const float* p = params.host();
        // dlib keeps the filters first, then the biases (con_::setup allocates filters + biases).
        Tensor bias{"bias", {nf}, std::vector<float>(p + nf * per_filter, p + nf * per_filter + nf)};
        Tensor filters{"filters", {nf, channels_in, nr, nc}, std::vector<float>(p, p + nf * per_filter)};
        tensors->push_back(bias);
        tensors->push_back(filters);
        layers->push_back({"con", nf, nr, nc, l.stride_y(), l.stride_x(), l.padding_y(), l.padding_x()});
    }

    void operator()(dlib::affine_& l) const {
        if (l.get_mode() != dlib::CONV_MODE) throw std::runtime_error("an affine layer in FC mode is not expected here");
        // affine_ reports no learnable parameters (get_layer_params() is empty); gamma and beta are
        // views into its own storage.
        const auto gamma = l.get_gamma();
        const auto beta = l.get_beta();
        const long channels = static_cast<long>(gamma.size());
        if (static_cast<long>(beta.size()) != channels) throw std::runtime_error("affine gamma and beta differ in size");
        tensors->push_back({"beta", {channels}, std::vector<float>(beta.host(), beta.host() + channels)});
        tensors->push_back({"gamma", {channels}, std::vector<float>(gamma.host(), gamma.host() + channels)});
        layers->push_back({"affine"});
    }

    void operator()(dlib::relu_&) const { layers->push_back({"relu"}); }
};

std::string json_number(double v) {
    std::ostringstream s;
    s << std::setprecision(17) << v;
    return s.str();
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 3) {
        std::cerr << "usage: mmod_export <mmod_human_face_detector.dat> <out-dir>\n";
        return 2;
    }
    mmod::net_type net;
    dlib::deserialize(argv[1]) >> net;

    std::vector<LayerGeometry> layers;
    std::vector<Tensor> tensors;
    dlib::visit_computational_layers(net, Collector{&layers, &tensors});
    std::reverse(layers.begin(), layers.end());
    std::reverse(tensors.begin(), tensors.end());

    // Name the tensors conv<i>/filters, conv<i>/bias, affine<i>/gamma, affine<i>/beta in data-flow order.
    int conv_index = -1, affine_index = -1;
    for (auto& t : tensors) {
        if (t.name == "filters") ++conv_index;
        if (t.name == "gamma") ++affine_index;
        const bool is_conv = t.name == "filters" || t.name == "bias";
        t.name = (is_conv ? "conv" + std::to_string(conv_index) : "affine" + std::to_string(affine_index)) + "/" + t.name;
    }

    const std::string out_dir = argv[2];
    const std::string base = out_dir + "/mmod_human_face_detector";
    std::ofstream bin(base + ".bin", std::ios::binary);
    std::ofstream manifest(base + "_manifest.json");
    manifest << "[{\"paths\":[\"mmod_human_face_detector.bin\"],\"weights\":[\n";
    for (size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        bin.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size() * sizeof(float)));
        manifest << "  {\"name\":\"" << t.name << "\",\"shape\":[";
        for (size_t d = 0; d < t.shape.size(); ++d) manifest << (d ? "," : "") << t.shape[d];
        manifest << "],\"dtype\":\"float32\"}" << (i + 1 < tensors.size() ? ",\n" : "\n");
    }
    manifest << "]}]\n";

    const auto& input = dlib::input_layer(net);
    const auto& options = net.loss_details().get_options();
    std::ofstream json(base + "_options.json");
    json << "{\n  \"source\": \"dlib mmod_human_face_detector.dat (dlib-models, CC0), exported by tools/dlib-export/mmod_export.cpp\",\n";
    json << "  \"layers\": [\n";
    for (size_t i = 0; i < layers.size(); ++i) {
        const auto& l = layers[i];
        json << "    {\"type\": \"" << l.type << "\"";
        if (l.type == "con")
            json << ", \"filters\": " << l.filters << ", \"rows\": " << l.rows << ", \"cols\": " << l.cols
                 << ", \"strideY\": " << l.stride_y << ", \"strideX\": " << l.stride_x << ", \"padY\": " << l.pad_y
                 << ", \"padX\": " << l.pad_x;
        json << "}" << (i + 1 < layers.size() ? ",\n" : "\n");
    }
    json << "  ],\n";
    json << "  \"input\": {\"avgRed\": " << json_number(input.get_avg_red()) << ", \"avgGreen\": "
         << json_number(input.get_avg_green()) << ", \"avgBlue\": " << json_number(input.get_avg_blue())
         << ", \"pyramidDown\": 6, \"pyramidPadding\": " << input.get_pyramid_padding()
         << ", \"pyramidOuterPadding\": " << input.get_pyramid_outer_padding() << "},\n";
    json << "  \"loss\": {\n    \"detectorWindows\": [";
    for (size_t i = 0; i < options.detector_windows.size(); ++i) {
        const auto& w = options.detector_windows[i];
        json << (i ? ", " : "") << "{\"width\": " << w.width << ", \"height\": " << w.height << ", \"label\": \""
             << w.label << "\"}";
    }
    json << "],\n";
    json << "    \"overlapsNms\": {\"iou\": " << json_number(options.overlaps_nms.get_iou_thresh())
         << ", \"percentCovered\": " << json_number(options.overlaps_nms.get_percent_covered_thresh()) << "},\n";
    json << "    \"overlapsIgnore\": {\"iou\": " << json_number(options.overlaps_ignore.get_iou_thresh())
         << ", \"percentCovered\": " << json_number(options.overlaps_ignore.get_percent_covered_thresh()) << "},\n";
    json << "    \"useBoundingBoxRegression\": " << (options.use_bounding_box_regression ? "true" : "false") << ",\n";
    json << "    \"lossPerFalseAlarm\": " << json_number(options.loss_per_false_alarm)
         << ", \"lossPerMissedTarget\": " << json_number(options.loss_per_missed_target)
         << ", \"truthMatchIouThreshold\": " << json_number(options.truth_match_iou_threshold) << "\n  }\n}\n";

    std::cerr << net << "\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "mmod_export: " << e.what() << "\n";
    return 1;
}
