// Inline SVG figures for the HTML report (harness/render/report.h): no script, no external
// resource, every number drawn also given as text (a <title> a browser shows on hover, and
// data- attributes the report's browser test reads).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faultline::svg {

struct Point {
  double x = 0, y = 0;
  std::optional<double> lo, hi;  // a band around y (an interval), drawn shaded
  std::string title = {};        // shown on hover
};

struct Series {
  std::string label;
  std::vector<Point> points;  // in x order
  bool dashed = false;
};

struct Axis {
  std::string title;
  double min = 0, max = 1;
  bool log = false;  // base 10; min and max must then be > 0
  // Where to put ticks and what to write there; empty: five even ticks.
  std::vector<std::pair<double, std::string>> ticks = {};
};

// A chart of lines (with their bands) on two axes, a legend under it.
std::string chart(const Axis& x, const Axis& y, const std::vector<Series>& series, int width = 520,
                  int height = 260);

// A rate in [0, 1] with its interval [lo, hi] as a small horizontal bar.
std::string interval_bar(double rate, double lo, double hi, int width = 160);

struct Mark {
  double t = 0;
  std::string label;
  std::string kind;  // "symptom", "end", or anything else (a fault, a nemesis action)
};
struct Window {  // a span to shade: a fault on, a server paused
  double from = 0, to = 0;
  std::string label;
};

// One run on a time axis 0..duration: shaded windows, marks, and (when given) one sample series
// as a line above them.
std::string timeline(double duration, const std::vector<Window>& windows,
                     const std::vector<Mark>& marks,
                     const std::vector<std::pair<double, double>>& samples,
                     const std::string& samples_label, int width = 720);

// The colour of the i-th series (a fixed palette that repeats).
std::string colour(std::size_t i);

// A number in few characters: 3 significant digits, no exponent below 1e9.
std::string short_number(double v);

}  // namespace faultline::svg
