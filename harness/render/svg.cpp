#include "harness/render/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "harness/render/export.h"

namespace faultline::svg {
namespace {

constexpr int kLeft = 56, kRight = 24, kTop = 10, kBottom = 38;

// Maps a value of an axis to a pixel in [from, to].
struct Scale {
  const Axis& axis;
  double from, to;
  double operator()(double v) const {
    double lo = axis.min, hi = axis.max, x = v;
    if (axis.log) {
      lo = std::log10(lo);
      hi = std::log10(hi);
      x = std::log10(std::max(v, axis.min));
    }
    const double f = hi > lo ? (x - lo) / (hi - lo) : 0.5;
    return from + std::clamp(f, 0.0, 1.0) * (to - from);
  }
};

std::vector<std::pair<double, std::string>> ticks_of(const Axis& a) {
  if (!a.ticks.empty()) return a.ticks;
  std::vector<std::pair<double, std::string>> t;
  if (a.log) {
    for (double v = std::pow(10, std::floor(std::log10(a.min))); v <= a.max * 1.0001; v *= 10) {
      if (v >= a.min * 0.9999) t.emplace_back(v, short_number(v));
    }
    return t;
  }
  // About five ticks at round values: a step of 1, 2 or 5 times a power of ten.
  const double span = a.max - a.min;
  if (!(span > 0)) return {{a.min, short_number(a.min)}};
  const double raw = span / 5, power = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / power < 1.5 ? power : raw / power < 3.5 ? 2 * power : 5 * power;
  for (double v = std::ceil(a.min / step) * step; v <= a.max + step * 1e-9; v += step) {
    t.emplace_back(v, short_number(std::fabs(v) < step * 1e-9 ? 0 : v));
  }
  return t;
}

std::string axes(const Axis& x, const Axis& y, const Scale& sx, const Scale& sy, int width,
                 int height) {
  std::string out = fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" class="plot"/>)",
                                kLeft, kTop, width - kLeft - kRight, height - kTop - kBottom);
  for (const auto& [v, text] : ticks_of(x)) {
    const double px = sx(v);
    out += fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" class="grid"/>)", px,
                       kTop, height - kBottom);
    out += fmt::format(R"(<text x="{:.1f}" y="{}" class="tick" text-anchor="middle">{}</text>)", px,
                       height - kBottom + 14, xml_escape(text));
  }
  for (const auto& [v, text] : ticks_of(y)) {
    const double py = sy(v);
    out += fmt::format(R"(<line x1="{0}" x2="{1}" y1="{2:.1f}" y2="{2:.1f}" class="grid"/>)", kLeft,
                       width - kRight, py);
    out += fmt::format(R"(<text x="{}" y="{:.1f}" class="tick" text-anchor="end">{}</text>)",
                       kLeft - 4, py + 4, xml_escape(text));
  }
  out += fmt::format(R"(<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>)",
                     (kLeft + width - kRight) / 2, height - 6, xml_escape(x.title));
  out += fmt::format(
      R"~(<text x="12" y="{0}" class="axis" text-anchor="middle" transform="rotate(-90 12 {0})">{1}</text>)~",
      (kTop + height - kBottom) / 2, xml_escape(y.title));
  return out;
}

std::string band_of(const Series& s, const Scale& sx, const Scale& sy, const std::string& c) {
  std::string upper, lower;
  for (const auto& p : s.points) {
    if (!p.lo || !p.hi) return "";
    upper += fmt::format("{:.1f},{:.1f} ", sx(p.x), sy(*p.hi));
  }
  for (auto it = s.points.rbegin(); it != s.points.rend(); ++it) {
    lower += fmt::format("{:.1f},{:.1f} ", sx(it->x), sy(*it->lo));
  }
  if (s.points.size() < 2) return "";
  return fmt::format(R"(<polygon points="{}{}" fill="{}" class="band"/>)", upper, lower, c);
}

std::string line_of(const Series& s, const Scale& sx, const Scale& sy, const std::string& c) {
  std::string pts, marks;
  for (const auto& p : s.points) {
    pts += fmt::format("{:.1f},{:.1f} ", sx(p.x), sy(p.y));
    marks += fmt::format(
        R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}" data-y="{}"><title>{}</title></circle>)",
        sx(p.x), sy(p.y), c, p.y, xml_escape(p.title));
    if (p.lo && p.hi && s.points.size() == 1) {  // one point: its interval as a whisker
      marks +=
          fmt::format(R"(<line x1="{0:.1f}" x2="{0:.1f}" y1="{1:.1f}" y2="{2:.1f}" stroke="{3}"/>)",
                      sx(p.x), sy(*p.lo), sy(*p.hi), c);
    }
  }
  return fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>{})", pts,
                     c, s.dashed ? R"( stroke-dasharray="5 3")" : "", marks);
}

std::string legend(const std::vector<Series>& series) {
  std::string out = R"(<div class="legend">)";
  for (std::size_t i = 0; i < series.size(); ++i) {
    out += fmt::format(R"(<span><i style="background:{}"></i>{}</span>)", colour(i),
                       xml_escape(series[i].label));
  }
  return out + "</div>";
}

}  // namespace

std::string colour(std::size_t i) {
  static const char* kPalette[] = {"#c0392b", "#2471a3", "#1e8449", "#b9770e",
                                   "#7d3c98", "#117a65", "#566573", "#a04000"};
  return kPalette[i % std::size(kPalette)];
}

std::string short_number(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 1e9) return fmt::format("{:.3g}", v);
  if (std::fabs(v) >= 100 || std::fabs(v - std::round(v)) < 1e-9) {
    return fmt::format("{:.0f}", v);
  }
  return fmt::format("{:.3g}", v);
}

std::string chart(const Axis& x, const Axis& y, const std::vector<Series>& series, int width,
                  int height) {
  const Scale sx{x, double(kLeft), double(width - kRight)};
  const Scale sy{y, double(height - kBottom), double(kTop)};
  std::string body = axes(x, y, sx, sy, width, height);
  for (std::size_t i = 0; i < series.size(); ++i) body += band_of(series[i], sx, sy, colour(i));
  for (std::size_t i = 0; i < series.size(); ++i) body += line_of(series[i], sx, sy, colour(i));
  return fmt::format(
      R"(<figure class="chart"><svg viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img">{2}</svg>{3}</figure>)",
      width, height, body, legend(series));
}

std::string interval_bar(double rate, double lo, double hi, int width) {
  const auto px = [&](double v) { return 1 + std::clamp(v, 0.0, 1.0) * (width - 2); };
  return fmt::format(
      R"(<svg class="bar" viewBox="0 0 {0} 14" width="{0}" height="14" role="img"><title>{1:.1f}% [{2:.1f}%, {3:.1f}%]</title>)"
      R"(<rect x="1" y="5" width="{4}" height="4" class="track"/>)"
      R"(<rect x="{5:.1f}" y="2" width="{6:.1f}" height="10" class="interval"/>)"
      R"(<line x1="{7:.1f}" x2="{7:.1f}" y1="0" y2="14" class="estimate"/></svg>)",
      width, 100 * rate, 100 * lo, 100 * hi, width - 2, px(lo), std::max(1.0, px(hi) - px(lo)),
      px(rate));
}

std::string timeline(double duration, const std::vector<Window>& windows,
                     const std::vector<Mark>& marks,
                     const std::vector<std::pair<double, double>>& samples,
                     const std::string& samples_label, int width) {
  const int height = samples.empty() ? 40 : 80, base = height - 22;
  const Axis ax{"", 0, std::max(duration, 1e-3)};
  const Scale sx{ax, 8.0, double(width - 8)};
  std::string body =
      fmt::format(R"(<line x1="8" x2="{}" y1="{}" y2="{}" class="grid"/>)", width - 8, base, base);
  for (const auto& w : windows) {
    body += fmt::format(
        R"(<rect x="{:.1f}" y="2" width="{:.1f}" height="{}" class="window"><title>{}</title></rect>)",
        sx(w.from), std::max(1.0, sx(w.to) - sx(w.from)), base - 2, xml_escape(w.label));
  }
  if (!samples.empty()) {
    double top = 0;
    for (const auto& s : samples) top = std::max(top, s.second);
    const Axis ay{samples_label, 0, top > 0 ? top : 1};
    const Scale sy{ay, double(base - 2), 4.0};
    // A series with points at a steady step (latency over time: one per bucket where requests
    // completed) is broken where a step is missing, so a stall shows as a gap, not a slope.
    double step = 0;
    for (std::size_t i = 1; i < samples.size(); ++i) {
      const double dt = samples[i].first - samples[i - 1].first;
      if (dt > 0 && (step == 0 || dt < step)) step = dt;
    }
    std::string d;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const bool gap = i == 0 || (step > 0 && samples[i].first - samples[i - 1].first > 1.5 * step);
      // "l0,0" after each move: with round caps a point alone between two gaps shows as a dot.
      d += fmt::format("{}{:.1f},{:.1f}{} ", gap ? "M" : "L", sx(samples[i].first),
                       sy(samples[i].second), gap ? " l0,0" : "");
    }
    body += fmt::format(
        R"(<path d="{}" class="samples" data-series="{}" data-n="{}" data-max="{}"><title>{} (max {})</title></path>)",
        d, xml_escape(samples_label), samples.size(), top, xml_escape(samples_label),
        short_number(top));
  }
  for (const auto& m : marks) {
    const double x = sx(m.t);
    const std::string cls = m.kind == "symptom" ? "symptom" : m.kind == "end" ? "end" : "event";
    body += fmt::format(
        R"(<path d="M{0:.1f},{1} l5,6 l-5,6 l-5,-6 z" class="{2}"><title>{3:.3f} s: {4}</title></path>)",
        x, base - 6, cls, m.t, xml_escape(m.label));
  }
  body += fmt::format(R"(<text x="8" y="{}" class="tick">0</text>)", height - 4);
  body += fmt::format(R"(<text x="{}" y="{}" class="tick" text-anchor="end">{:.3f} s</text>)",
                      width - 8, height - 4, duration);
  return fmt::format(
      R"(<svg class="timeline" viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img">{2}</svg>)",
      width, height, body);
}

}  // namespace faultline::svg
