//! The HTML tree builder's element classes, as far as the sanitizer needs them.
//!
//! Which elements end a paragraph, stop a search for an end tag, stand in tables, are void,
//! belong to svg or MathML, break out of foreign content: the lists the parser keeps, so
//! what we write is read back as exactly the tree we meant.

use html5ever::tokenizer::Tag;

use super::policy::El;

/// The namespace an element of a removed subtree is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ns {
    Html,
    Svg,
    Math,
}

/// Where only table parts may stand (text and other elements would be moved out).
pub(super) fn in_table_structure(e: El) -> bool {
    matches!(
        e,
        El::Table | El::Thead | El::Tbody | El::Tfoot | El::Tr | El::Colgroup
    )
}

pub(super) fn is_table_part(e: El) -> bool {
    use El::*;
    matches!(
        e,
        Caption | Colgroup | Col | Thead | Tbody | Tfoot | Tr | Td | Th
    )
}

pub(super) fn is_heading(e: El) -> bool {
    matches!(e, El::H1 | El::H2 | El::H3 | El::H4 | El::H5 | El::H6)
}

/// The parser's "special" elements among ours (those that stop the list-item search).
pub(super) fn is_special(e: El) -> bool {
    use El::*;
    is_heading(e)
        || matches!(
            e,
            Address
                | Blockquote
                | Br
                | Caption
                | Center
                | Col
                | Colgroup
                | Dd
                | Details
                | Div
                | Dl
                | Dt
                | Figcaption
                | Figure
                | Hr
                | Img
                | Li
                | Ol
                | P
                | Pre
                | Source
                | Summary
                | Table
                | Tbody
                | Td
                | Tfoot
                | Th
                | Thead
                | Tr
                | Ul
                | Wbr
        )
}

/// Allowed start tags that end an open paragraph.
pub(super) fn closes_p(e: El) -> bool {
    use El::*;
    is_heading(e)
        || matches!(
            e,
            Address
                | Blockquote
                | Center
                | Details
                | Div
                | Dl
                | Figcaption
                | Figure
                | Hr
                | Ol
                | P
                | Pre
                | Summary
                | Table
                | Ul
        )
}

/// Start tags we drop (keeping their content) that still end an open paragraph.
pub(super) fn closes_p_other(name: &str) -> bool {
    matches!(
        name,
        "article"
            | "aside"
            | "dialog"
            | "dir"
            | "fieldset"
            | "footer"
            | "form"
            | "header"
            | "hgroup"
            | "listing"
            | "main"
            | "menu"
            | "nav"
            | "search"
            | "section"
    )
}

pub(super) fn is_void_html(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "col"
            | "embed"
            | "frame"
            | "hr"
            | "img"
            | "image"
            | "input"
            | "keygen"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Names of svg and MathML elements (lower-case, as the tokenizer gives them; ammonia's
/// lists, less the few it counts as HTML too): removed whole wherever they appear.
pub(super) fn foreign_named(name: &str) -> bool {
    matches!(
        name,
        "abs"
            | "and"
            | "animate"
            | "annotation"
            | "annotation-xml"
            | "apply"
            | "approx"
            | "arccos"
            | "arccosh"
            | "arccot"
            | "arccoth"
            | "arccsc"
            | "arccsch"
            | "arcsec"
            | "arcsech"
            | "arcsin"
            | "arcsinh"
            | "arctan"
            | "arctanh"
            | "arg"
            | "bind"
            | "bvar"
            | "card"
            | "cartesianproduct"
            | "cbytes"
            | "ceiling"
            | "cerror"
            | "ci"
            | "circle"
            | "cn"
            | "codomain"
            | "complexes"
            | "compose"
            | "condition"
            | "conjugate"
            | "cos"
            | "cosh"
            | "cot"
            | "coth"
            | "cs"
            | "csc"
            | "csch"
            | "csymbol"
            | "curl"
            | "declare"
            | "defs"
            | "degree"
            | "desc"
            | "determinant"
            | "diff"
            | "discard"
            | "divergence"
            | "divide"
            | "domain"
            | "domainofapplication"
            | "ellipse"
            | "emptyset"
            | "eq"
            | "equivalent"
            | "eulergamma"
            | "exists"
            | "exp"
            | "exponentiale"
            | "factorial"
            | "factorof"
            | "false"
            | "filter"
            | "floor"
            | "fn"
            | "forall"
            | "g"
            | "gcd"
            | "geq"
            | "grad"
            | "gt"
            | "ident"
            | "image"
            | "imaginary"
            | "imaginaryi"
            | "implies"
            | "in"
            | "infinity"
            | "int"
            | "integers"
            | "intersect"
            | "interval"
            | "inverse"
            | "lambda"
            | "laplacian"
            | "lcm"
            | "leq"
            | "limit"
            | "line"
            | "list"
            | "ln"
            | "log"
            | "logbase"
            | "lowlimit"
            | "lt"
            | "maction"
            | "maligngroup"
            | "malignmark"
            | "marker"
            | "mask"
            | "math"
            | "matrix"
            | "matrixrow"
            | "max"
            | "mean"
            | "median"
            | "menclose"
            | "merror"
            | "metadata"
            | "mfenced"
            | "mfrac"
            | "mglyph"
            | "mi"
            | "min"
            | "minus"
            | "mlabeledtr"
            | "mlongdiv"
            | "mmultiscripts"
            | "mn"
            | "mo"
            | "mode"
            | "moment"
            | "momentabout"
            | "mover"
            | "mpadded"
            | "mpath"
            | "mphantom"
            | "mprescripts"
            | "mroot"
            | "mrow"
            | "ms"
            | "mscarries"
            | "mscarry"
            | "msgroup"
            | "msline"
            | "mspace"
            | "msqrt"
            | "msrow"
            | "mstack"
            | "mstyle"
            | "msub"
            | "msubsup"
            | "msup"
            | "mtable"
            | "mtd"
            | "mtext"
            | "mtr"
            | "munder"
            | "munderover"
            | "naturalnumbers"
            | "neq"
            | "none"
            | "not"
            | "notanumber"
            | "notin"
            | "notprsubset"
            | "notsubset"
            | "or"
            | "otherwise"
            | "outerproduct"
            | "partialdiff"
            | "path"
            | "pattern"
            | "pi"
            | "piece"
            | "piecewise"
            | "plus"
            | "polygon"
            | "polyline"
            | "power"
            | "primes"
            | "product"
            | "prsubset"
            | "quotient"
            | "rationals"
            | "real"
            | "reals"
            | "rect"
            | "reln"
            | "rem"
            | "root"
            | "scalarproduct"
            | "sdev"
            | "sec"
            | "sech"
            | "selector"
            | "semantics"
            | "sep"
            | "set"
            | "setdiff"
            | "share"
            | "sin"
            | "sinh"
            | "stop"
            | "subset"
            | "sum"
            | "svg"
            | "switch"
            | "symbol"
            | "tan"
            | "tanh"
            | "tendsto"
            | "text"
            | "times"
            | "transpose"
            | "true"
            | "tspan"
            | "union"
            | "uplimit"
            | "use"
            | "variance"
            | "vector"
            | "vectorproduct"
            | "view"
            | "xor"
    )
}

/// HTML start tags that end foreign content (the tree builder's list).
pub(super) fn breaks_out(tag: &Tag) -> bool {
    match &*tag.name {
        "b" | "big" | "blockquote" | "body" | "br" | "center" | "code" | "dd" | "div" | "dl"
        | "dt" | "em" | "embed" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "head" | "hr" | "i"
        | "img" | "li" | "listing" | "menu" | "meta" | "nobr" | "ol" | "p" | "pre" | "ruby"
        | "s" | "small" | "span" | "strong" | "strike" | "sub" | "sup" | "table" | "tt" | "u"
        | "ul" | "var" => true,
        "font" => tag
            .attrs
            .iter()
            .any(|a| matches!(&*a.name.local, "color" | "face" | "size")),
        _ => false,
    }
}

/// Elements of a removed subtree that stop the parser's search for an end tag's element.
pub(super) fn is_special_removed(ns: Ns, name: &str) -> bool {
    match ns {
        Ns::Html => matches!(
            name,
            "address"
                | "applet"
                | "area"
                | "article"
                | "aside"
                | "base"
                | "basefont"
                | "bgsound"
                | "blockquote"
                | "body"
                | "br"
                | "button"
                | "caption"
                | "center"
                | "col"
                | "colgroup"
                | "dd"
                | "details"
                | "dir"
                | "div"
                | "dl"
                | "dt"
                | "embed"
                | "fieldset"
                | "figcaption"
                | "figure"
                | "footer"
                | "form"
                | "frame"
                | "frameset"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "head"
                | "header"
                | "hgroup"
                | "hr"
                | "html"
                | "iframe"
                | "img"
                | "input"
                | "keygen"
                | "li"
                | "link"
                | "listing"
                | "main"
                | "marquee"
                | "menu"
                | "meta"
                | "nav"
                | "noembed"
                | "noframes"
                | "noscript"
                | "object"
                | "ol"
                | "p"
                | "param"
                | "plaintext"
                | "pre"
                | "script"
                | "search"
                | "section"
                | "select"
                | "source"
                | "style"
                | "summary"
                | "table"
                | "tbody"
                | "td"
                | "template"
                | "textarea"
                | "tfoot"
                | "th"
                | "thead"
                | "title"
                | "tr"
                | "track"
                | "ul"
                | "wbr"
                | "xmp"
        ),
        Ns::Svg => matches!(name, "foreignobject" | "desc" | "title"),
        Ns::Math => {
            matches!(name, "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml")
        }
    }
}

/// svg/math elements whose content the parser reads as HTML.
pub(super) fn integration_point(ns: Ns, tag: &Tag) -> bool {
    match (ns, &*tag.name) {
        (Ns::Svg, "foreignobject" | "desc" | "title") => true,
        (Ns::Math, "mi" | "mo" | "mn" | "ms" | "mtext") => true,
        (Ns::Math, "annotation-xml") => tag.attrs.iter().any(|a| {
            &*a.name.local == "encoding"
                && (a.value.eq_ignore_ascii_case("text/html")
                    || a.value.eq_ignore_ascii_case("application/xhtml+xml"))
        }),
        _ => false,
    }
}
