// Jinja syntax tree, shaped like jinja2's nodes module. Built once by the parser and then
// only read: one tree may be rendered by many threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/jinja_value.h"

namespace trimserve::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// ---- expressions ----

enum class ExprKind {
  kConst,
  kName,
  kList,  // list or tuple literal
  kDict,
  kGetattr,
  kGetitem,
  kSlice,  // only as the index of kGetitem
  kCall,
  kFilter,
  kTest,
  kUnary,
  kBinary,
  kConcat,
  kCompare,
  kCond,
};

struct Expr {
  Expr(ExprKind k, int l) : kind(k), line(l) {}
  virtual ~Expr() = default;
  ExprKind kind;
  int line;
  int height = 1;  // 1 + the tallest child; set by the parser (bounds evaluation recursion)
};

// Arguments of a call, filter or test: f(a, b, key=c, *args, **kwargs).
struct CallArgs {
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args;
  ExprPtr dyn_kwargs;
};

struct ConstExpr : Expr {
  ConstExpr(int l, Value v) : Expr(ExprKind::kConst, l), value(std::move(v)) {}
  Value value;
};

struct NameExpr : Expr {
  NameExpr(int l, std::string n) : Expr(ExprKind::kName, l), name(std::move(n)) {}
  std::string name;
};

struct ListExpr : Expr {
  ListExpr(int l, bool tuple) : Expr(ExprKind::kList, l), is_tuple(tuple) {}
  std::vector<ExprPtr> items;
  bool is_tuple;
};

struct DictExpr : Expr {
  explicit DictExpr(int l) : Expr(ExprKind::kDict, l) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

struct GetattrExpr : Expr {
  GetattrExpr(int l, ExprPtr o, std::string n)
      : Expr(ExprKind::kGetattr, l), object(std::move(o)), name(std::move(n)) {}
  ExprPtr object;
  std::string name;
};

struct GetitemExpr : Expr {
  GetitemExpr(int l, ExprPtr o, ExprPtr i)
      : Expr(ExprKind::kGetitem, l), object(std::move(o)), index(std::move(i)) {}
  ExprPtr object;
  ExprPtr index;
};

struct SliceExpr : Expr {
  explicit SliceExpr(int l) : Expr(ExprKind::kSlice, l) {}
  ExprPtr start, stop, step;  // each may be null
};

struct CallExpr : Expr {
  CallExpr(int l, ExprPtr c) : Expr(ExprKind::kCall, l), callee(std::move(c)) {}
  ExprPtr callee;
  CallArgs args;
};

// One `| name(args)` application; also used without an operand by filter blocks.
struct FilterCall {
  std::string name;
  CallArgs args;
  int line = 0;
};

struct FilterExpr : Expr {
  FilterExpr(int l, ExprPtr o, FilterCall f)
      : Expr(ExprKind::kFilter, l), operand(std::move(o)), filter(std::move(f)) {}
  ExprPtr operand;
  FilterCall filter;
};

struct TestExpr : Expr {
  TestExpr(int l, ExprPtr o, std::string n)
      : Expr(ExprKind::kTest, l), operand(std::move(o)), name(std::move(n)) {}
  ExprPtr operand;
  std::string name;
  CallArgs args;
};

enum class UnaryOp { kNeg, kPos, kNot };

struct UnaryExpr : Expr {
  UnaryExpr(int l, UnaryOp o, ExprPtr e) : Expr(ExprKind::kUnary, l), op(o), operand(std::move(e)) {}
  UnaryOp op;
  ExprPtr operand;
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kAnd, kOr };

struct BinaryExpr : Expr {
  BinaryExpr(int l, BinaryOp o, ExprPtr a, ExprPtr b)
      : Expr(ExprKind::kBinary, l), op(o), left(std::move(a)), right(std::move(b)) {}
  BinaryOp op;
  ExprPtr left, right;
};

struct ConcatExpr : Expr {  // a ~ b ~ c
  explicit ConcatExpr(int l) : Expr(ExprKind::kConcat, l) {}
  std::vector<ExprPtr> parts;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

struct CompareExpr : Expr {  // chained like Python: a < b < c
  CompareExpr(int l, ExprPtr f) : Expr(ExprKind::kCompare, l), first(std::move(f)) {}
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
};

struct CondExpr : Expr {  // then_expr if test else else_expr
  explicit CondExpr(int l) : Expr(ExprKind::kCond, l) {}
  ExprPtr test, then_expr, else_expr;  // else_expr may be null (-> Undefined)
};

// 1 + the largest `height` among e's direct children (0 when it has none). The parser
// seals each node with it, which bounds the recursion depth of evaluation.
int children_height(const Expr& e);

// ---- assignment targets ----

struct Target {
  enum class Type { kName, kTuple, kNamespaceAttr };
  Type type = Type::kName;
  std::string name;             // kName, kNamespaceAttr (the namespace variable)
  std::string attr;             // kNamespaceAttr
  std::vector<Target> items;    // kTuple
};

// ---- statements ----

enum class StmtKind {
  kText,
  kOutput,
  kIf,
  kFor,
  kSet,
  kSetBlock,
  kMacro,
  kWith,
  kFilterBlock,
  kBreak,
  kContinue,
  kScope,  // a body run in a child scope ({% generation %}, transformers' AssistantTracker)
};

struct Stmt {
  Stmt(StmtKind k, int l) : kind(k), line(l) {}
  virtual ~Stmt() = default;
  StmtKind kind;
  int line;
};

struct TextStmt : Stmt {
  TextStmt(int l, std::string t) : Stmt(StmtKind::kText, l), text(std::move(t)) {}
  std::string text;
};

struct OutputStmt : Stmt {
  OutputStmt(int l, ExprPtr e) : Stmt(StmtKind::kOutput, l), expr(std::move(e)) {}
  ExprPtr expr;
};

struct IfStmt : Stmt {
  explicit IfStmt(int l) : Stmt(StmtKind::kIf, l) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body else_body;
};

struct ForStmt : Stmt {
  explicit ForStmt(int l) : Stmt(StmtKind::kFor, l) {}
  Target target;
  ExprPtr iter;
  ExprPtr filter;  // `for x in y if cond`; may be null
  Body body;
  Body else_body;
};

struct SetStmt : Stmt {
  explicit SetStmt(int l) : Stmt(StmtKind::kSet, l) {}
  Target target;
  ExprPtr value;
};

struct SetBlockStmt : Stmt {
  explicit SetBlockStmt(int l) : Stmt(StmtKind::kSetBlock, l) {}
  Target target;
  std::vector<FilterCall> filters;
  Body body;
};

struct MacroStmt : Stmt {
  explicit MacroStmt(int l) : Stmt(StmtKind::kMacro, l) {}
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // for the last defaults.size() params
  Body body;
};

struct WithStmt : Stmt {
  explicit WithStmt(int l) : Stmt(StmtKind::kWith, l) {}
  std::vector<std::pair<Target, ExprPtr>> assignments;
  Body body;
};

struct FilterBlockStmt : Stmt {
  explicit FilterBlockStmt(int l) : Stmt(StmtKind::kFilterBlock, l) {}
  std::vector<FilterCall> filters;
  Body body;
};

struct ScopeStmt : Stmt {
  ScopeStmt(StmtKind k, int l) : Stmt(k, l) {}
  Body body;  // empty for kBreak / kContinue
};

}  // namespace trimserve::jinja
